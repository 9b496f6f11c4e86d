"""The RFC 3501 section 9 grammar primitives."""

from __future__ import annotations

import datetime

import pytest

from mailsuite.limits import IMAP_MAX_PAREN_DEPTH
from mailsuite.protocols.imap.wire.reader import ParseError, Reader, decode_mailbox
from mailsuite.protocols.imap.wire.seqset import SequenceSet


@pytest.mark.parametrize(
    ("data", "value", "rest"),
    [
        (b"abc def", b"abc", b" def"),
        (b'"a b" x', b"a b", b" x"),
        (b'"a\\"b\\\\c"', b'a"b\\c', b""),
        (b'""', b"", b""),
        (b"{3}\r\nabc x", b"abc", b" x"),
        (b"{3+}\r\nabc", b"abc", b""),
        (b"{0}\r\n", b"", b""),
        (b"a]b", b"a]b", b""),
        (b'"caf\xc3\xa9"', b"caf\xc3\xa9", b""),
    ],
)
def test_astring(data: bytes, value: bytes, rest: bytes) -> None:
    """An astring is read as an atom, a quoted string or a literal, and no further."""
    r = Reader(data)
    assert r.astring() == value
    assert r.data[r.pos :] == rest


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'"abc', "Unterminated quoted string"),
        (b'"a\\x"', "Invalid escape"),
        (b'"a\rb"', "CR, LF or NUL"),
        (b"{5}\r\nab", "shorter than announced"),
        (b"{2}\r\na\x00", "NUL"),
        (b"(x", "Expected a string"),
        (b"", "Expected a string at end of line"),
    ],
)
def test_astring_errors(data: bytes, message: str) -> None:
    """Malformed strings raise ParseError naming the problem."""
    with pytest.raises(ParseError, match=message):
        Reader(data).astring()


def test_literal8_only_where_allowed() -> None:
    """A literal8 (~{n}) is refused unless the grammar allows it (RFC 3516 APPEND)."""
    with pytest.raises(ParseError, match="literal8"):
        Reader(b"~{1}\r\nx").literal()
    assert Reader(b"~{2}\r\n\x00x").literal(allow_literal8=True) == b"\x00x"


def test_nstring() -> None:
    """NIL (any case) is None; a NIL-prefixed atom is not NIL."""
    assert Reader(b"nil").nstring() is None
    assert Reader(b'"NIL"').nstring() == b"NIL"
    with pytest.raises(ParseError):
        Reader(b"NILS").nstring()


@pytest.mark.parametrize(
    ("data", "ranges"),
    [
        (b"1", ((1, 1),)),
        (b"1:3", ((1, 3),)),
        (b"4:2", ((2, 4),)),
        (b"*", ((None, None),)),
        (b"5:*", ((5, None),)),
        (b"*:5", ((5, None),)),
        (b"1,3:4,7:*", ((1, 1), (3, 4), (7, None))),
        (b"4294967295", ((4294967295, 4294967295),)),
    ],
)
def test_seq_set(data: bytes, ranges: tuple[tuple[int | None, int | None], ...]) -> None:
    """Sequence sets parse with * kept symbolic and reversed ranges put forwards."""
    assert Reader(data).seq_set() == SequenceSet(ranges)


@pytest.mark.parametrize("data", [b"0", b"1:0", b"4294967296", b",1", b"a", b""])
def test_seq_set_errors(data: bytes) -> None:
    """Zero, numbers past 32 bits and junk are not sequence sets."""
    with pytest.raises(ParseError):
        r = Reader(data)
        r.seq_set()
        r.end()


def test_saved_search_result() -> None:
    """$ is the saved search result (RFC 5182) unless forbidden."""
    assert Reader(b"$").seq_set() == SequenceSet(saved=True)
    with pytest.raises(ParseError):
        Reader(b"$").seq_set(allow_saved=False)


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        (b"INBOX", "INBOX"),
        (b"inbox", "INBOX"),
        (b"InBoX", "INBOX"),
        (b"INBOX.Sent", "INBOX.Sent"),
        (b"Entw&APw-rfe", "Entwürfe"),
        (b"&-", "&"),
        (b"~peter/mail/&U,BTFw-/&ZeVnLIqe-", "~peter/mail/台北/日本語"),
    ],
)
def test_mailbox_names(raw: bytes, name: str) -> None:
    """Mailbox names decode from modified UTF-7 and INBOX is case-insensitive (RFC 3501 5.1)."""
    assert decode_mailbox(raw) == name
    assert Reader(raw).mailbox() == name


@pytest.mark.parametrize("raw", [b"&Jjo", b"a&AGE-", b"caf\xc3\xa9", b"&U,BTF2XlZyyKng"])
def test_bad_mailbox_names(raw: bytes) -> None:
    """Invalid modified UTF-7 or raw 8-bit names are rejected with a reason."""
    with pytest.raises(ParseError, match="Mailbox name"):
        decode_mailbox(raw)


def test_list_mailbox_wildcards() -> None:
    """A list pattern takes % and * unquoted."""
    r = Reader(b"INBOX.%/* x")
    assert r.list_mailbox() == "INBOX.%/*"


@pytest.mark.parametrize(
    ("data", "flags"),
    [
        (b"()", ()),
        (b"(\\seen \\ANSWERED)", ("\\Seen", "\\Answered")),
        (b"($Forwarded Junk \\Seen \\Seen)", ("$Forwarded", "Junk", "\\Seen")),
    ],
)
def test_flag_list(data: bytes, flags: tuple[str, ...]) -> None:
    """Flag lists give canonical system flags and keywords as written, without duplicates."""
    assert Reader(data).flag_list() == flags


@pytest.mark.parametrize("data", [b"(\\Recent)", b"(\\Foo)", b"(a b", b"(a  b)", b"(a]b)"])
def test_flag_list_errors(data: bytes) -> None:
    """\\Recent, unknown system flags and broken lists are rejected."""
    with pytest.raises(ParseError):
        Reader(data).flag_list()


def test_paren_depth_limit() -> None:
    """Nesting beyond the limit is a ParseError, not a recursion crash."""
    r = Reader(b"(" * (IMAP_MAX_PAREN_DEPTH + 1))
    with pytest.raises(ParseError, match="nested deeper"):
        for _ in range(IMAP_MAX_PAREN_DEPTH + 1):
            r.open_paren()


@pytest.mark.parametrize(
    ("data", "value"),
    [
        (b"1-Feb-1994", datetime.date(1994, 2, 1)),
        (b'"01-feb-1994"', datetime.date(1994, 2, 1)),
        (b"29-Feb-2024", datetime.date(2024, 2, 29)),
    ],
)
def test_date(data: bytes, value: datetime.date) -> None:
    """Search dates parse with or without quotes, months in any case."""
    assert Reader(data).date() == value


@pytest.mark.parametrize("data", [b"30-Feb-2024", b"1-Foo-2000", b"1-Feb-94", b'"1-Feb-1994'])
def test_date_errors(data: bytes) -> None:
    """Impossible or malformed dates are rejected."""
    with pytest.raises(ParseError):
        Reader(data).date()


def test_date_time() -> None:
    """A date-time with a zone becomes an aware datetime (RFC 3501 example)."""
    value = Reader(b'"17-Jul-1996 02:44:25 -0700"').date_time()
    assert value == datetime.datetime(1996, 7, 17, 9, 44, 25, tzinfo=datetime.UTC)
    assert Reader(b'" 7-Jul-1996 02:44:25 +0000"').date_time().day == 7
    assert Reader(b'"7-Jul-1996 02:44:25 +0000"').date_time().day == 7


@pytest.mark.parametrize(
    "data", [b'"17-Jul-1996 02:44:25"', b'"17-Jul-1996 25:44:25 +0000"', b"17-Jul-1996"]
)
def test_date_time_errors(data: bytes) -> None:
    """A date-time without zone, with impossible values or unquoted is rejected."""
    with pytest.raises(ParseError):
        Reader(data).date_time()


def test_number_limits() -> None:
    """Numbers are 32-bit unless a wider maximum is given (mod-sequences are 63-bit)."""
    assert Reader(b"4294967295").number() == 4294967295
    with pytest.raises(ParseError, match="too large"):
        Reader(b"4294967296").number()
    assert Reader(b"9223372036854775807").number(maximum=2**63 - 1) == 2**63 - 1
    with pytest.raises(ParseError):
        Reader(b"0").nz_number()


def test_end_tolerates_trailing_spaces_only() -> None:
    """Trailing spaces are tolerated at the end; anything else is reported."""
    Reader(b"   ").end()
    with pytest.raises(ParseError, match="Unexpected extra arguments"):
        Reader(b" x").end()
