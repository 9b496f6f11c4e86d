"""Connection-level commands: CAPABILITY, NOOP, LOGOUT, ID, STARTTLS, LOGIN, AUTHENTICATE, ENABLE,
COMPRESS, IDLE, NAMESPACE."""

from __future__ import annotations

import pytest

from mailsuite.protocols.imap.commands import (
    Authenticate,
    BadCommand,
    Capability,
    Command,
    Compress,
    Enable,
    Id,
    Idle,
    Login,
    Logout,
    Namespace,
    Noop,
    Starttls,
    State,
    is_idle_done,
    is_sasl_cancel,
    parse_command,
)

CASES: list[tuple[bytes, Command]] = [
    (b"abcd CAPABILITY", Capability(b"abcd")),
    (b"a002 NOOP", Noop(b"a002")),
    (b"A023 LOGOUT", Logout(b"A023")),
    (b"a001 starttls", Starttls(b"a001")),
    (b"a001 LOGIN SMITH SESAME", Login(b"a001", "SMITH", b"SESAME")),
    (b'a LOGIN "fred smith" {4}\r\np w\xff', Login(b"a", "fred smith", b"p w\xff")),
    (b"a AUTHENTICATE plain", Authenticate(b"a", "PLAIN", None)),
    (b"a AUTHENTICATE PLAIN =", Authenticate(b"a", "PLAIN", b"")),
    (
        b"a AUTHENTICATE PLAIN AGJvYgBwdw==",
        Authenticate(b"a", "PLAIN", b"\x00bob\x00pw"),
    ),
    (b"a ID NIL", Id(b"a", None)),
    (b"a ID ()", Id(b"a", ())),
    (
        b'a ID ("name" "sodr" "version" NIL)',
        Id(b"a", (("name", "sodr"), ("version", None))),
    ),
    (b"a ENABLE CONDSTORE qresync", Enable(b"a", ("CONDSTORE", "QRESYNC"))),
    (b"a COMPRESS DEFLATE", Compress(b"a", "DEFLATE")),
    (b"a IDLE", Idle(b"a")),
    (b"a NAMESPACE", Namespace(b"a")),
]


@pytest.mark.parametrize(("line", "command"), CASES)
def test_parse(line: bytes, command: Command) -> None:
    """Each command line parses to the expected object."""
    assert parse_command(line) == command


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"a NOOP x", "Unexpected extra arguments"),
        (b"a LOGIN bob", "Missing arguments"),
        (b"a LOGIN", "Missing arguments"),
        (b"a AUTHENTICATE PLAIN !!!", "Invalid base64"),
        (b"a AUTHENTICATE PLAIN AGJvYg", "Invalid base64"),
        (b'a ID ("k")', "Expected a space"),
        (b'a ID ("k" "v"', "Missing ')'"),
        (b"a ID " + b"(" + b" ".join(b'"k%d" "v"' % i for i in range(31)) + b")", "30"),
        (b"a ENABLE", "Missing arguments"),
        (b"a COMPRESS", "Missing arguments"),
    ],
)
def test_errors(line: bytes, message: str) -> None:
    """Malformed arguments give a BadCommand whose text names the problem."""
    result = parse_command(line)
    assert isinstance(result, BadCommand)
    assert message in result.message
    assert result.response().startswith(b"a BAD ")


def test_password_hidden_in_repr() -> None:
    """LOGIN and AUTHENTICATE never show secrets in their repr (logs)."""
    assert "SESAME" not in repr(parse_command(b"a LOGIN u SESAME"))
    assert "AGJvYg" not in repr(parse_command(b"a AUTHENTICATE PLAIN AGJvYgBwdw=="))
    assert "\\x00bob" not in repr(parse_command(b"a AUTHENTICATE PLAIN AGJvYgBwdw=="))


def test_states() -> None:
    """Each command declares the states it is allowed in (RFC 3501 section 6)."""
    assert Capability.allowed == {State.NOT_AUTHENTICATED, State.AUTHENTICATED, State.SELECTED}
    assert Login.allowed == {State.NOT_AUTHENTICATED}
    assert Starttls.allowed == {State.NOT_AUTHENTICATED}
    # RFC 5161 3.1: ENABLE only in the authenticated state.
    assert Enable.allowed == {State.AUTHENTICATED}
    assert Idle.allowed == {State.AUTHENTICATED, State.SELECTED}


@pytest.mark.parametrize(("line", "done"), [(b"DONE", True), (b"done ", True), (b"DONE x", False)])
def test_idle_done(line: bytes, done: bool) -> None:
    """Only a line DONE (any case) ends IDLE."""
    assert is_idle_done(line) is done


def test_sasl_cancel() -> None:
    """A lone "*" cancels AUTHENTICATE; base64 data does not."""
    assert is_sasl_cancel(b"*") and not is_sasl_cancel(b"AGJvYg==")
