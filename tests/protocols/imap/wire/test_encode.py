"""Encoding values for the wire: the atom/quoted/literal choice, names, flags, dates."""

from __future__ import annotations

import datetime

import pytest

from mailsuite.protocols.imap.wire.encode import (
    encode_astring,
    encode_flags,
    encode_internaldate,
    encode_mailbox,
    encode_nstring,
    encode_string,
    encode_text,
)


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        ("abc", b"abc"),
        ("a]b", b"a]b"),
        ("", b'""'),
        ("NIL", b'"NIL"'),
        ("a b", b'"a b"'),
        ('a"b\\', b'"a\\"b\\\\"'),
        ("a%b", b'"a%b"'),
        ("café", b"{5}\r\ncaf\xc3\xa9"),
        ("a\r\nb", b"{4}\r\na\r\nb"),
        ("a\x00", b"{2}\r\na\x00"),
    ],
)
def test_astring(value: str, wire: bytes) -> None:
    """Atoms where safe, quoted for 7-bit text, literals for 8-bit, CR, LF or NUL."""
    assert encode_astring(value) == wire


def test_string_never_atom_and_long_values_are_literals() -> None:
    """A string is quoted even when atom-safe, and long values go as literals."""
    assert encode_string("abc") == b'"abc"'
    assert encode_string("x" * 2000).startswith(b"{2000}\r\n")
    assert encode_nstring(None) == b"NIL"
    assert encode_nstring(b"") == b'""'


@pytest.mark.parametrize(
    ("name", "wire"),
    [
        ("INBOX", b"INBOX"),
        ("inbox", b"INBOX"),
        ("Entwürfe", b"Entw&APw-rfe"),
        ("A & B", b'"A &- B"'),
        ("台北", b"&U,BTFw-"),
    ],
)
def test_mailbox(name: str, wire: bytes) -> None:
    """Mailbox names go out in modified UTF-7, quoted when they contain specials."""
    assert encode_mailbox(name) == wire


def test_flags_order() -> None:
    """System flags come first in RFC order, then keywords sorted."""
    assert encode_flags(["b", "\\Seen", "$a", "\\Answered"]) == b"(\\Answered \\Seen $a b)"
    assert encode_flags([]) == b"()"


@pytest.mark.parametrize(
    ("ts", "tz", "wire"),
    [
        (837596665, None, b'"17-Jul-1996 09:44:25 +0000"'),
        (
            837596665,
            datetime.timezone(datetime.timedelta(hours=-7)),
            b'"17-Jul-1996 02:44:25 -0700"',
        ),
        (0, None, b'" 1-Jan-1970 00:00:00 +0000"'),
        (
            0,
            datetime.timezone(datetime.timedelta(hours=5, minutes=30)),
            b'" 1-Jan-1970 05:30:00 +0530"',
        ),
    ],
)
def test_internaldate(ts: float, tz: datetime.tzinfo | None, wire: bytes) -> None:
    """INTERNALDATE is "dd-Mon-yyyy hh:mm:ss +zzzz" with a space-padded day."""
    assert encode_internaldate(ts, tz) == wire


@pytest.mark.parametrize(
    ("text", "wire"),
    [("ok", b"ok"), ("a\r\nb", b"a  b"), ("", b"Done"), ("[x] y", b" [x] y"), ("é", b"?")],
)
def test_text(text: str, wire: bytes) -> None:
    """Response text is one 7-bit line that cannot be mistaken for a response code."""
    assert encode_text(text) == wire
