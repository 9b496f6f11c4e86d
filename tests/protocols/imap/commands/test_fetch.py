"""FETCH and UID FETCH: items, macros, sections, partials, CONDSTORE/QRESYNC modifiers."""

from __future__ import annotations

import pytest

from mailsuite.protocols.imap.commands import BadCommand, Fetch, FetchAttr, Section, parse_command
from mailsuite.protocols.imap.wire.seqset import SequenceSet


def fetch(line: bytes) -> Fetch:
    result = parse_command(line)
    assert isinstance(result, Fetch), result
    return result


def names(line: bytes) -> list[bytes]:
    return [a.response_name() for a in fetch(line).attrs]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"a FETCH 1 ALL", [b"FLAGS", b"INTERNALDATE", b"RFC822.SIZE", b"ENVELOPE"]),
        (b"a FETCH 1 fast", [b"FLAGS", b"INTERNALDATE", b"RFC822.SIZE"]),
        (b"a FETCH 1 FULL", [b"FLAGS", b"INTERNALDATE", b"RFC822.SIZE", b"ENVELOPE", b"BODY"]),
        (b"a FETCH 1 flags", [b"FLAGS"]),
        (
            b"A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])",
            [b"FLAGS", b"BODY[HEADER.FIELDS (DATE FROM)]"],
        ),
        (b"a FETCH 1 (BODY.PEEK[])", [b"BODY[]"]),
        (b"a FETCH 1 BODY[]<0.2048>", [b"BODY[]<0>"]),
        (b"a FETCH 1 (body.peek[1.2.MIME]<100.5>)", [b"BODY[1.2.MIME]<100>"]),
        (
            b"a FETCH 1 (BODY[2.HEADER] BODY[3.TEXT] BODY[4])",
            [b"BODY[2.HEADER]", b"BODY[3.TEXT]", b"BODY[4]"],
        ),
        (
            b'a FETCH 1 BODY[HEADER.FIELDS.NOT ("X-A" Y])]',
            [b"BODY[HEADER.FIELDS.NOT (X-A Y])]"],
        ),
        (
            b"a FETCH 1 (RFC822 RFC822.HEADER RFC822.TEXT RFC822.SIZE)",
            [b"RFC822", b"RFC822.HEADER", b"RFC822.TEXT", b"RFC822.SIZE"],
        ),
        (
            b"a FETCH 1 (BODYSTRUCTURE BODY ENVELOPE UID MODSEQ INTERNALDATE)",
            [b"BODYSTRUCTURE", b"BODY", b"ENVELOPE", b"UID", b"MODSEQ", b"INTERNALDATE"],
        ),
        (
            b"a FETCH 1 (BINARY[1] BINARY.PEEK[] BINARY.SIZE[2])",
            [b"BINARY[1]", b"BINARY[]", b"BINARY.SIZE[2]"],
        ),
        (b"a UID FETCH 1:* FLAGS", [b"UID", b"FLAGS"]),
        (b"a UID FETCH 1:* (FLAGS UID)", [b"FLAGS", b"UID"]),
        (b"a FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)", [b"FLAGS", b"MODSEQ"]),
        (
            b"s100 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)",
            [b"UID", b"FLAGS", b"MODSEQ"],
        ),
        (b"a FETCH 1 (FLAGS FLAGS)", [b"FLAGS"]),
    ],
)
def test_items(line: bytes, expected: list[bytes]) -> None:
    """Items parse and name themselves in the response as RFC 3501 7.4.2 prescribes."""
    assert names(line) == expected


def test_full_object() -> None:
    """A FETCH with every part set parses to the exact object."""
    assert fetch(
        b"a UID FETCH 4:2,* (BODY.PEEK[1.HEADER.FIELDS (From)]<0.10>) (CHANGEDSINCE 7 VANISHED)"
    ) == Fetch(
        b"a",
        SequenceSet(((2, 4), (None, None))),
        (
            FetchAttr("UID"),
            FetchAttr("BODY", Section((1,), "HEADER.FIELDS", ("From",)), (0, 10), True),
            FetchAttr("MODSEQ"),
        ),
        uid=True,
        changed_since=7,
        vanished=True,
    )


@pytest.mark.parametrize(
    ("line", "seen"),
    [
        (b"a FETCH 1 BODY[]", True),
        (b"a FETCH 1 BODY.PEEK[]", False),
        (b"a FETCH 1 RFC822", True),
        (b"a FETCH 1 RFC822.TEXT", True),
        (b"a FETCH 1 RFC822.HEADER", False),
        (b"a FETCH 1 BODY", False),
        (b"a FETCH 1 BINARY[1]", True),
        (b"a FETCH 1 BINARY.PEEK[1]", False),
        (b"a FETCH 1 BINARY.SIZE[1]", False),
    ],
)
def test_sets_seen(line: bytes, seen: bool) -> None:
    """Only the non-PEEK body items set \\Seen (RFC 3501 6.4.5)."""
    assert fetch(line).attrs[0].sets_seen is seen


def test_needs_message() -> None:
    """Index-only items are told apart from those needing the message or its structure."""
    attrs = fetch(b"a FETCH 1 (FLAGS UID MODSEQ INTERNALDATE RFC822.SIZE ENVELOPE)").attrs
    assert [a.needs_message for a in attrs] == [False] * 5 + [True]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"a FETCH 1 (ALL)", "ALL is a macro"),
        (b"a FETCH 1 (FLAGS ALL)", "ALL is a macro"),
        (b"a FETCH 1 BOGUS", "Unknown FETCH item BOGUS"),
        (b"a FETCH 1 BODY[1.MIMEX]", "']' to end the section"),
        (b"a FETCH 1 BODY[MIME]", "MIME needs a part number"),
        (b"a FETCH 1 BODY[0]", "Invalid section specifier"),
        (b"a FETCH 1 BODY[HEADER.FIELDS]", "Expected a space"),
        (b"a FETCH 1 BODY[HEADER.FIELDS ()]", "Expected a header field name"),
        (b"a FETCH 1 BODY[]<0.0>", "Partial length must not be 0"),
        (b"a FETCH 1 BODY[]<5>", "Invalid partial"),
        (b"a FETCH 1 BINARY[HEADER]", "BINARY sections hold part numbers only"),
        (b"a FETCH 1 BINARY.SIZE[1]<0.5>", "BINARY.SIZE takes no partial"),
        (b"a FETCH 1 (FLAGS", "Missing ')'"),
        (b"a FETCH 1 (FLAGS) (CHANGEDSINCE)", "Expected a space"),
        (b"a FETCH 1 (FLAGS) (FOO 1)", "Unknown FETCH modifier FOO"),
        (b"a FETCH 1 (FLAGS) (CHANGEDSINCE 1 VANISHED)", "VANISHED is only allowed in UID FETCH"),
        (b"a UID FETCH 1 (FLAGS) (VANISHED)", "VANISHED requires CHANGEDSINCE"),
        (b"a FETCH 0 FLAGS", "Invalid number"),
        (b"a FETCH FLAGS", "Expected a sequence set"),
        (b"a FETCH 1", "Missing arguments"),
    ],
)
def test_errors(line: bytes, message: str) -> None:
    """Malformed FETCH commands give a BadCommand whose text names the problem."""
    result = parse_command(line)
    assert isinstance(result, BadCommand), result
    assert message in result.message
