"""Dovecot's passwd-file: parsing and reload on change."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mailsuite.auth.base import AuthUnavailable
from mailsuite.auth.passwdfile import PasswdFile, parse_line


def test_full_line() -> None:
    """All seven columns and the extra fields are read; userdb_ fields are split off."""
    line = parse_line(
        "a@x.org:{PLAIN}pw:1000:100:A User:/home/a:/bin/false:"
        "nologin=y userdb_mail=maildir:~/M userdb_quota_rule=*:storage=1G"
    )
    assert line is not None
    assert (line.user, line.password, line.uid, line.gid, line.home) == (
        "a@x.org",
        "{PLAIN}pw",
        "1000",
        "100",
        "/home/a",
    )
    assert line.passdb_fields == {"nologin": "y"}
    assert line.userdb_fields == {"mail": "maildir:~/M", "quota_rule": "*:storage=1G"}
    assert "pw" not in repr(line)


def test_short_lines_and_comments() -> None:
    """Missing trailing columns are empty; comments and blank lines are skipped."""
    line = parse_line("bob:{PLAIN}x")
    assert line is not None and line.home == "" and line.passdb_fields == {}
    assert parse_line("# comment") is None
    assert parse_line("   ") is None
    assert parse_line(":nouser") is None


def test_reload_on_change(tmp_path: Path) -> None:
    """Editing the file is seen at the next lookup; an unchanged file is not re-read."""
    path = tmp_path / "users"
    path.write_text("a:{PLAIN}1::::::\n")
    f = PasswdFile(str(path))
    assert f.get("a").password == "{PLAIN}1"
    assert f.get("b") is None
    assert f.reloads == 1
    tmp = tmp_path / "users.new"
    tmp.write_text("a:{PLAIN}2::::::\nb:{PLAIN}3::::::\n")
    os.rename(tmp, path)  # how editors and scripts replace it
    assert f.get("a").password == "{PLAIN}2"
    assert f.get("b") is not None
    assert f.reloads == 2


def test_first_duplicate_wins(tmp_path: Path) -> None:
    """When a user appears twice, the first line counts (as in Dovecot)."""
    path = tmp_path / "users"
    path.write_text("a:{PLAIN}1\na:{PLAIN}2\n")
    assert PasswdFile(str(path)).get("a").password == "{PLAIN}1"


def test_missing_file(tmp_path: Path) -> None:
    """A missing file is unavailable at first, but a vanished file keeps the last table."""
    f = PasswdFile(str(tmp_path / "users"))
    with pytest.raises(AuthUnavailable, match="users"):
        f.get("a")
    (tmp_path / "users").write_text("a:{PLAIN}1\n")
    assert f.get("a") is not None
    (tmp_path / "users").unlink()
    assert f.get("a") is not None


def test_binary_garbage_does_not_crash(tmp_path: Path) -> None:
    """Non-UTF-8 bytes in the file do not stop the other users from logging in."""
    path = tmp_path / "users"
    path.write_bytes(b"\xff\xfe:junk\na:{PLAIN}1\n")
    assert PasswdFile(str(path)).get("a") is not None
