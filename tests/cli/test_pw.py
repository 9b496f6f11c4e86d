"""`mailsuite pw`: hashes in Dovecot's format, checked by Dovecot when present."""

from __future__ import annotations

import io
import sys

import pytest

from mailsuite.auth import schemes
from mailsuite.cli.main import main
from tests.auth.conftest import doveadm_verifies, needs_doveadm


def test_prints_hash(capsys: pytest.CaptureFixture[str]) -> None:
    """pw -s SCHEME -p PASSWORD prints one {SCHEME} hash that verifies."""
    assert main(["pw", "-s", "SSHA256", "-p", "secret"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("{SSHA256}")
    assert schemes.verify(schemes.parse_stored(out), "secret")


@needs_doveadm
def test_dovecot_accepts_default_scheme(capsys: pytest.CaptureFixture[str]) -> None:
    """The default scheme's hash is accepted by doveadm pw -t."""
    assert main(["pw", "-p", "secret"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("{SHA512-CRYPT}$6$")
    assert doveadm_verifies(out, "secret")


def test_password_from_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without -p and without a terminal the password is read from stdin."""
    monkeypatch.setattr(sys, "stdin", io.StringIO("piped\n"))
    assert main(["pw", "-s", "PLAIN"]) == 0
    assert capsys.readouterr().out.strip() == "{PLAIN}piped"


def test_test_mode(capsys: pytest.CaptureFixture[str]) -> None:
    """pw -t HASH -p PASSWORD exits 0 on a match and 1 on a mismatch."""
    stored = schemes.generate("SSHA", "x")
    assert main(["pw", "-t", stored, "-p", "x"]) == 0
    assert main(["pw", "-t", stored, "-p", "y"]) == 1


def test_unknown_scheme(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown scheme is a one-line error and exit 1."""
    assert main(["pw", "-s", "ROT13", "-p", "x"]) == 1
    assert "unknown password scheme ROT13" in capsys.readouterr().err


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    """pw -l lists the schemes."""
    assert main(["pw", "-l"]) == 0
    assert "ARGON2ID" in capsys.readouterr().out
