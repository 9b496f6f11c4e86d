"""POP3 command parsing: typed commands out, precise reasons for bad lines."""

from __future__ import annotations

import pytest

from mailsuite import limits
from mailsuite.protocols.pop3 import commands as c


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"CAPA", c.Capa()),
        (b"capa", c.Capa()),
        (b"USER alice", c.User("alice")),
        (b"PASS secret with spaces ", c.Pass("secret with spaces ")),
        (b"AUTH", c.Auth()),
        (b"AUTH plain", c.Auth("PLAIN")),
        (b"AUTH PLAIN AGFsaWNlAHB3", c.Auth("PLAIN", b"AGFsaWNlAHB3")),
        (b"AUTH PLAIN =", c.Auth("PLAIN", b"=")),
        (b"STLS", c.Stls()),
        (b"STAT", c.Stat()),
        (b"LIST", c.List()),
        (b"LIST 3", c.List(3)),
        (b"UIDL", c.Uidl()),
        (b"UIDL 12", c.Uidl(12)),
        (b"RETR 1", c.Retr(1)),
        (b"TOP 1 0", c.Top(1, 0)),
        (b"TOP 2 10", c.Top(2, 10)),
        (b"DELE 4", c.Dele(4)),
        (b"RSET", c.Rset()),
        (b"NOOP", c.Noop()),
        (b"QUIT", c.Quit()),
    ],
)
def test_valid_commands(line: bytes, expected: c.Command) -> None:
    """Valid lines parse into the matching typed command, verbs case-insensitively."""
    assert c.parse(line) == expected


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"", "Empty command"),
        (b"FROB", "Unknown command: FROB"),
        (b"LIST x", "Invalid message number: x"),
        (b"LIST 0", "Invalid message number: 0"),
        (b"LIST -1", "Invalid message number: -1"),
        (b"LIST 1 2", "at most one message number"),
        (b"RETR", "needs one message number"),
        (b"RETR 99999999999", "Invalid message number"),
        (b"DELE 1.5", "Invalid message number"),
        (b"TOP 1", "needs a message number and a line count"),
        (b"TOP 1 x", "Invalid line count: x"),
        (b"STAT now", "takes no arguments"),
        (b"USER", "exactly one user name"),
        (b"PASS", "needs a password"),
        (b"AUTH PLAIN a b", "optional initial response"),
        (b"USER \xff", "not UTF-8"),
        (b"USER a\x00b", "NUL"),
        (b"LIST \xd9\xa3", "Invalid message number"),  # an Arabic-Indic digit is no digit here
    ],
)
def test_bad_lines_say_why(line: bytes, reason: str) -> None:
    """Malformed lines give a BadCommand whose reason names the problem."""
    result = c.parse(line)
    assert isinstance(result, c.BadCommand)
    assert reason in result.reason


def test_overlong_command_line() -> None:
    """A command line over the POP3 limit is refused with the limit in the reason."""
    result = c.parse(b"USER " + b"a" * limits.POP3_MAX_LINE_BYTES)
    assert isinstance(result, c.BadCommand)
    assert str(limits.POP3_MAX_LINE_BYTES) in result.reason


def test_long_auth_initial_response_is_accepted() -> None:
    """AUTH may carry an initial response longer than the command limit (RFC 5034)."""
    token = b"A" * 4000
    assert c.parse(b"AUTH XOAUTH2 " + token) == c.Auth("XOAUTH2", token)


def test_secrets_hidden_from_repr() -> None:
    """PASS and AUTH commands never show their secret in a log line."""
    assert "hunter2" not in repr(c.parse(b"PASS hunter2"))
    assert "AGFsaWNl" not in repr(c.parse(b"AUTH PLAIN AGFsaWNl"))


def test_states_are_declared_on_the_command() -> None:
    """Each command states where it is valid: USER only before login, RETR only after."""
    assert c.State.AUTHORIZATION in c.User.allowed
    assert c.State.TRANSACTION not in c.User.allowed
    assert c.Retr.allowed == frozenset({c.State.TRANSACTION})
    assert c.Quit.allowed >= {c.State.AUTHORIZATION, c.State.TRANSACTION}
