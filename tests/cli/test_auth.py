"""`mailsuite auth test`, `mailsuite user lookup` and `mailsuite auth cache flush`."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailsuite.cli.main import main


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/users").write_text(
        "alice:{PLAIN}alice-pw:1000:1000::/home/alice::userdb_mail=maildir:~/Maildir\n"
    )
    path = tmp_path / "etc/mailsuite.toml"
    path.write_text('[[passdb]]\npath = "etc/users"\n[[userdb]]\npath = "etc/users"\n')
    monkeypatch.chdir(tmp_path)  # relative paths resolve against the working directory
    return str(path)


def test_auth_test_ok_and_failure(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    """auth test succeeds with the right password, and fails with the reason and exit 77."""
    assert main(["-c", config, "auth", "test", "alice", "alice-pw"]) == 0
    assert "auth succeeded" in capsys.readouterr().out
    assert main(["-c", config, "auth", "test", "alice", "nope"]) == 77
    err = capsys.readouterr().err
    assert "auth failed" in err and "Password mismatch" in err and "nope" not in err


def test_user_lookup(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    """user lookup shows home and mail root; an unknown user exits 67."""
    assert main(["-c", config, "user", "lookup", "alice"]) == 0
    out = capsys.readouterr().out
    assert "/home/alice/Maildir" in out and "uid" in out
    assert main(["-c", config, "user", "lookup", "ghost"]) == 67


def test_cache_flush_queues_request(
    config: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """auth cache flush USER appends a request to the journal the running server reads."""
    assert main(["-c", config, "auth", "cache", "flush", "alice"]) == 0
    assert main(["-c", config, "auth", "cache", "flush"]) == 0
    assert (tmp_path / "var/state/auth-cache-flush").read_text() == "alice\n*\n"


def test_bad_config_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A config error exits 78 with one line naming the key."""
    path = tmp_path / "bad.toml"
    path.write_text('[[passdb]]\ndriver = "ldap"\n')
    assert main(["-c", str(path), "auth", "test", "a", "b"]) == 78
    assert "unknown driver 'ldap'" in capsys.readouterr().err
