"""mailsuite mailbox list/status/create, and how the CLI finds a user's store."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailsuite.cli.main import main

from .storehelp import make_config, seed


def test_mailbox_list_and_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """mailbox list shows INBOX and the special-use folders; status counts like doveadm."""
    config = make_config(tmp_path)
    seed(tmp_path)
    assert main(["-c", config, "mailbox", "create", "alice@example.org", "Work"]) == 0
    assert main(["-c", config, "mailbox", "list", "alice@example.org"]) == 0
    assert capsys.readouterr().out.split() == ["INBOX", "Trash", "Work"]
    assert main(["-c", config, "mailbox", "status", "alice@example.org", "INBOX"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("INBOX messages=3 recent=3 uidnext=4 uidvalidity=")
    assert " unseen=2 " in out


def test_bad_user_name_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A user name that would escape the mail root is refused with exit code 78."""
    config = make_config(tmp_path)
    assert main(["-c", config, "mailbox", "list", "../../etc"]) == 78
    assert "cannot be used in a path" in capsys.readouterr().err


def test_userdb_says_where_the_mail_is(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With a passwd-file userdb, the user's home and quota_rule decide root and limits."""
    users = tmp_path / "users"
    home = tmp_path / "homes" / "carol"
    users.write_text(
        f"carol:{{PLAIN}}pw:::: {home}::userdb_quota_rule=*:storage=2M\n".replace(" ", "")
    )
    cfg = tmp_path / "userdb.toml"
    cfg.write_text(
        '[mail]\nlocation = "~/Maildir"\nspecial_use = {}\n'
        f'[[userdb]]\ndriver = "passwd-file"\npath = "{users}"\n'
        f'[[passdb]]\ndriver = "passwd-file"\npath = "{users}"\n'
    )
    assert main(["-c", str(cfg), "quota", "get", "carol"]) == 0
    assert "carol\tSTORAGE\t0\t2097152\t0" in capsys.readouterr().out
    assert (home / "Maildir" / "cur").is_dir()
