"""SEARCH, ESEARCH RETURN options, SEARCHRES, MODSEQ, SORT and THREAD."""

from __future__ import annotations

import datetime

import pytest

from mailsuite.protocols.imap.commands import (
    AllKey,
    AndKey,
    BadCommand,
    DateKey,
    FlagKey,
    HeaderKey,
    ModseqKey,
    NotKey,
    OrKey,
    Search,
    SearchKey,
    SetKey,
    SizeKey,
    Sort,
    TextKey,
    Thread,
    WithinKey,
    parse_command,
)
from mailsuite.protocols.imap.commands.search import SEARCH_MAX_DEPTH
from mailsuite.protocols.imap.wire.seqset import SequenceSet


def key_of(line: bytes) -> SearchKey:
    result = parse_command(line)
    assert isinstance(result, Search), result
    return result.key


D = datetime.date

KEYS: list[tuple[bytes, SearchKey]] = [
    (b"ALL", AllKey()),
    (b"answered", FlagKey("\\Answered")),
    (b"DELETED", FlagKey("\\Deleted")),
    (b"DRAFT", FlagKey("\\Draft")),
    (b"FLAGGED", FlagKey("\\Flagged")),
    (b"RECENT", FlagKey("\\Recent")),
    (b"SEEN", FlagKey("\\Seen")),
    (b"UNANSWERED", FlagKey("\\Answered", False)),
    (b"UNDELETED", FlagKey("\\Deleted", False)),
    (b"UNDRAFT", FlagKey("\\Draft", False)),
    (b"UNFLAGGED", FlagKey("\\Flagged", False)),
    (b"UNSEEN", FlagKey("\\Seen", False)),
    (b"OLD", FlagKey("\\Recent", False)),
    (b"NEW", AndKey((FlagKey("\\Recent"), FlagKey("\\Seen", False)))),
    (b"KEYWORD $Junk", FlagKey("$Junk")),
    (b"UNKEYWORD $Junk", FlagKey("$Junk", False)),
    (b"BCC x", HeaderKey("Bcc", "x")),
    (b'CC "a b"', HeaderKey("Cc", "a b")),
    (b"FROM Smith", HeaderKey("From", "Smith")),
    (b"SUBJECT {2}\r\nhi", HeaderKey("Subject", "hi")),
    (b"TO x", HeaderKey("To", "x")),
    (b'HEADER Message-ID ""', HeaderKey("Message-ID", "")),
    (b'BODY "caf\xc3\xa9"', TextKey("BODY", "café")),
    (b"TEXT x", TextKey("TEXT", "x")),
    (b"BEFORE 1-Feb-1994", DateKey("BEFORE", D(1994, 2, 1))),
    (b"ON 1-Feb-1994", DateKey("ON", D(1994, 2, 1))),
    (b'SINCE "1-Feb-1994"', DateKey("SINCE", D(1994, 2, 1))),
    (b"SENTBEFORE 1-Feb-1994", DateKey("BEFORE", D(1994, 2, 1), True)),
    (b"SENTON 1-Feb-1994", DateKey("ON", D(1994, 2, 1), True)),
    (b"SENTSINCE 1-Feb-1994", DateKey("SINCE", D(1994, 2, 1), True)),
    (b"LARGER 1024", SizeKey(True, 1024)),
    (b"SMALLER 10", SizeKey(False, 10)),
    (b"OLDER 3600", WithinKey(True, 3600)),
    (b"YOUNGER 60", WithinKey(False, 60)),
    (b"UID 1:*", SetKey(SequenceSet(((1, None),)), uid=True)),
    (b"2,4:7", SetKey(SequenceSet(((2, 2), (4, 7))))),
    (b"$", SetKey(SequenceSet(saved=True))),
    (b"UID $", SetKey(SequenceSet(saved=True), uid=True)),
    (b"NOT SEEN", NotKey(FlagKey("\\Seen"))),
    (b"OR SEEN FLAGGED", OrKey(FlagKey("\\Seen"), FlagKey("\\Flagged"))),
    (b"(SEEN)", FlagKey("\\Seen")),
    (b"(SEEN FLAGGED)", AndKey((FlagKey("\\Seen"), FlagKey("\\Flagged")))),
    (b"MODSEQ 620162338", ModseqKey(620162338)),
    (
        b'MODSEQ "/flags/\\\\draft" all 620162338',
        ModseqKey(620162338, "/flags/\\draft", "all"),
    ),
    (
        b'FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"',
        AndKey(
            (
                FlagKey("\\Flagged"),
                DateKey("SINCE", D(1994, 2, 1)),
                NotKey(HeaderKey("From", "Smith")),
            )
        ),
    ),
    (
        b"OR (SEEN UID 5) NOT (OR 1 2)",
        OrKey(
            AndKey((FlagKey("\\Seen"), SetKey(SequenceSet(((5, 5),)), uid=True))),
            NotKey(OrKey(SetKey(SequenceSet(((1, 1),))), SetKey(SequenceSet(((2, 2),))))),
        ),
    ),
]


@pytest.mark.parametrize(("keys", "tree"), KEYS)
def test_keys(keys: bytes, tree: SearchKey) -> None:
    """Every RFC 3501 key (and MODSEQ, $, OLDER/YOUNGER) parses to its tree."""
    assert key_of(b"a SEARCH " + keys) == tree


def test_charset_and_return() -> None:
    """RETURN options come before CHARSET; RETURN () means ALL (RFC 4731 3.1)."""
    assert parse_command(b"a UID SEARCH RETURN (MIN MAX SAVE) CHARSET us-ascii ALL") == Search(
        b"a", AllKey(), True, "US-ASCII", frozenset({"MIN", "MAX", "SAVE"})
    )
    assert parse_command(b"a SEARCH RETURN () ALL") == Search(
        b"a", AllKey(), False, None, frozenset({"ALL"})
    )
    assert parse_command(b"a SEARCH CHARSET UTF-8 TEXT x") == Search(
        b"a", TextKey("TEXT", "x"), False, "UTF-8", None
    )


def test_bad_charset_is_no_with_code() -> None:
    """An unknown charset answers NO [BADCHARSET (UTF-8 US-ASCII)] (RFC 3501 6.4.4)."""
    result = parse_command(b"A1 SEARCH CHARSET ISO-2022-JP FROM x")
    assert isinstance(result, BadCommand)
    assert result.response() == (
        b"A1 NO [BADCHARSET (UTF-8 US-ASCII)] Error in IMAP command SEARCH: "
        b"Unsupported charset ISO-2022-JP\r\n"
    )


def test_deep_nesting_is_refused_not_crashing() -> None:
    """Absurd NOT/OR/parenthesis nesting is a BAD, never a recursion error."""
    for keys in (b"NOT " * 5000 + b"ALL", b"(" * 5000 + b"ALL" + b")" * 5000):
        result = parse_command(b"a SEARCH " + keys)
        assert isinstance(result, BadCommand)
        assert f"deeper than {SEARCH_MAX_DEPTH}" in result.message


def test_long_or_chain_is_fine() -> None:
    """A realistic client OR chain (50 terms) parses."""
    keys = b"OR " * 49 + b" ".join(b"FROM u%d" % i for i in range(50))
    assert isinstance(key_of(b"a SEARCH " + keys), OrKey)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"a SEARCH", "Missing arguments"),
        (b"a SEARCH BOGUS", "Unknown search key BOGUS"),
        (b"a SEARCH FROM", "Missing arguments"),
        (b"a SEARCH OR SEEN", "Missing arguments"),
        (b"a SEARCH BEFORE 1-Foo-1994", "Invalid date"),
        (b"a SEARCH BEFORE x", "Expected a date"),
        (b"a SEARCH LARGER x", "Expected a size"),
        (b"a SEARCH (SEEN", "Missing arguments"),
        (b"a SEARCH SEEN)", "Unexpected extra arguments"),
        (b"a SEARCH RETURN (BOGUS) ALL", "Unknown SEARCH return option BOGUS"),
        (b'a SEARCH MODSEQ "/flags/x" bogus 5', "entry type must be"),
        (b'a SEARCH MODSEQ "/x" all 5', "entry name"),
        (b"a SEARCH KEYWORD \\Bogus", "Invalid system flag"),
    ],
)
def test_errors(line: bytes, message: str) -> None:
    """Malformed searches give a BadCommand naming the problem."""
    result = parse_command(line)
    assert isinstance(result, BadCommand), result
    assert message in result.message


def test_sort_and_thread() -> None:
    """SORT and THREAD (RFC 5256) parse criteria, charset and keys."""
    assert parse_command(b"A282 SORT (SUBJECT) UTF-8 SINCE 1-Feb-1994") == Sort(
        b"A282", (("SUBJECT", False),), DateKey("SINCE", D(1994, 2, 1)), False, "UTF-8"
    )
    assert parse_command(b"a UID SORT (REVERSE DATE FROM) US-ASCII ALL") == Sort(
        b"a", (("DATE", True), ("FROM", False)), AllKey(), True, "US-ASCII"
    )
    assert parse_command(b"A283 THREAD ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000") == Thread(
        b"A283", "ORDEREDSUBJECT", DateKey("SINCE", D(2000, 3, 5)), False, "UTF-8"
    )
    for bad in (b"a SORT (BOGUS) UTF-8 ALL", b"a THREAD X UTF-8 ALL", b"a SORT (DATE) ALL"):
        assert isinstance(parse_command(bad), BadCommand)
