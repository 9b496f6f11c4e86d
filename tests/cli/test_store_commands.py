"""The store admin commands: mailbox list/status/create, index check/rebuild, quota get/recalc."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailsuite.cli.main import main
from mailsuite.store.api import FlagMode
from mailsuite.store.maildir import open_user_store


@pytest.fixture
def config(tmp_path: Path) -> str:
    path = tmp_path / "mailsuite.toml"
    path.write_text(
        f'[mail]\nlocation = "{tmp_path}/mail/%d/%n"\nspecial_use = {{ Trash = "\\\\Trash" }}\n'
        "[quota]\nstorage_bytes = 1000000\nmessages = 10\n"
    )
    return str(path)


def seed(tmp_path: Path) -> str:
    root = str(tmp_path / "mail" / "example.org" / "alice")
    mbox = open_user_store(root, user="alice@example.org").open_mailbox("INBOX")
    for i in range(3):
        mbox.append(f"Subject: {i}\n\nbody {i}\n".encode())
    mbox.set_flags([1], ["\\Seen"], FlagMode.ADD)
    return root


def test_mailbox_list_and_status(
    config: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """mailbox list shows INBOX and the special-use folders; status counts like doveadm."""
    seed(tmp_path)
    assert main(["-c", config, "mailbox", "create", "alice@example.org", "Work"]) == 0
    assert main(["-c", config, "mailbox", "list", "alice@example.org"]) == 0
    assert capsys.readouterr().out.split() == ["INBOX", "Trash", "Work"]
    assert main(["-c", config, "mailbox", "status", "alice@example.org", "INBOX"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("INBOX messages=3 recent=3 uidnext=4 uidvalidity=")
    assert " unseen=2 " in out


def test_index_check_reports_damage_and_rebuild_fixes_index(
    config: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """index check exits 0 when clean and 1 on a damaged message file; rebuild keeps UIDs."""
    root = seed(tmp_path)
    assert main(["-c", config, "index", "check", "alice@example.org"]) == 0
    assert "INBOX: 3 messages, ok" in capsys.readouterr().out
    victim = next(Path(root, "new").iterdir())
    victim.write_bytes(victim.read_bytes().replace(b"body", b"bodY"))
    assert main(["-c", config, "index", "check", "alice@example.org", "INBOX"]) == 1
    out = capsys.readouterr().out
    assert "message file damaged" in out and str(victim) in out
    assert main(["-c", config, "index", "rebuild", "alice@example.org", "INBOX"]) == 0
    assert "INBOX: index rebuilt, 3 messages" in capsys.readouterr().out


def test_quota_get_and_recalc(
    config: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """quota get prints usage against the configured limits; recalc recounts the files."""
    root = seed(tmp_path)
    Path(root, "maildirsize").write_text("1000000S,10C\n999 99\n")
    assert main(["-c", config, "quota", "get", "alice@example.org"]) == 0
    assert "alice@example.org\tMESSAGE\t99\t10\t990" in capsys.readouterr().out
    assert main(["-c", config, "quota", "recalc", "alice@example.org"]) == 0
    out = capsys.readouterr().out
    assert "alice@example.org\tMESSAGE\t3\t10\t30" in out


def test_bad_user_name_is_a_clear_error(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A user name that would escape the mail root is refused with exit code 78."""
    assert main(["-c", config, "mailbox", "list", "../../etc"]) == 78
    assert "cannot be used in a path" in capsys.readouterr().err
