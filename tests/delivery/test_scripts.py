"""Tests for finding and loading a user's Sieve scripts."""

from __future__ import annotations

from mailsuite.auth.interfaces import UserRecord
from mailsuite.config.schema import SieveSettings
from mailsuite.delivery.scripts import ScriptSource


def test_user_script_from_home_with_global_before_and_after(tmp_path) -> None:
    """before, the user's %h script and after are loaded in that order."""
    home = tmp_path / "home"
    home.mkdir()
    (home / ".dovecot.sieve").write_text("keep;\n")
    (tmp_path / "before.sieve").write_text("keep;\n")
    (tmp_path / "after.sieve").write_text("keep;\n")
    settings = SieveSettings(before="before.sieve", after="after.sieve")
    source = ScriptSource(settings, lambda p: str(tmp_path / p))
    record = UserRecord(username="alice", home=str(home))
    paths = [p for p, _ in source(record)]
    assert paths == [
        str(tmp_path / "before.sieve"),
        str(home / ".dovecot.sieve"),
        str(tmp_path / "after.sieve"),
    ]


def test_missing_home_missing_file_and_broken_script_mean_no_script(tmp_path) -> None:
    """No home, no file or a script that does not compile all yield no script (mail is kept)."""
    source = ScriptSource(SieveSettings(), str)
    assert source(UserRecord(username="alice")) == []
    assert source(UserRecord(username="alice", home=str(tmp_path))) == []
    (tmp_path / ".dovecot.sieve").write_text("if true {\n")
    assert source(UserRecord(username="alice", home=str(tmp_path))) == []


def test_userdb_sieve_field_overrides_and_disabled_sieve_runs_nothing(tmp_path) -> None:
    """A userdb "sieve" field names the script; [sieve] enabled=false runs none."""
    (tmp_path / "mine.sieve").write_text("discard;\n")
    record = UserRecord(username="a", fields={"sieve": str(tmp_path / "mine.sieve")})
    assert [p for p, _ in ScriptSource(SieveSettings(), str)(record)] == [
        str(tmp_path / "mine.sieve")
    ]
    assert ScriptSource(SieveSettings(enabled=False), str)(record) == []
