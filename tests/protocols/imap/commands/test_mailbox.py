"""Mailbox commands: SELECT/EXAMINE with CONDSTORE/QRESYNC, CREATE, DELETE, RENAME, SUBSCRIBE,
STATUS, APPEND, GETQUOTA, GETQUOTAROOT."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailsuite.protocols.imap.commands import (
    Append,
    AppendMessage,
    BadCommand,
    Command,
    Create,
    Delete,
    Examine,
    GetQuota,
    GetQuotaRoot,
    QResyncParams,
    Rename,
    Select,
    SetQuota,
    Status,
    Subscribe,
    Unsubscribe,
    parse_command,
)
from mailsuite.protocols.imap.spool import AppendSpool, SpooledLiteral
from mailsuite.protocols.imap.wire.framer import CommandBytes, Framer
from mailsuite.protocols.imap.wire.seqset import SequenceSet

RFC3501_APPEND = (
    b"A003 APPEND saved-messages (\\Seen) {310}\r\n"
    b"Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\n"
    b"From: Fred Foobar <foobar@Blurdybloop.COM>\r\n"
    b"Subject: afternoon meeting\r\n"
    b"To: mooch@owatagu.siam.edu\r\n"
    b"Message-Id: <B27397-0100000@Blurdybloop.COM>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
    b"\r\n"
    b"Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n"
)

CASES: list[tuple[bytes, Command]] = [
    (b"A142 SELECT INBOX", Select(b"A142", "INBOX")),
    (b"A142 select inbox", Select(b"A142", "INBOX")),
    (b"A932 EXAMINE blurdybloop", Examine(b"A932", "blurdybloop")),
    (b"a SELECT INBOX (CONDSTORE)", Select(b"a", "INBOX", condstore=True)),
    (
        b"A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))",
        Select(
            b"A02",
            "INBOX",
            qresync=QResyncParams(
                67890007, 20050715194045000, SequenceSet(((41, 41), (43, 211), (214, 541)))
            ),
        ),
    ),
    (
        b"B04 SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999"
        b" 15000,22500,27000,29970,29973,29976,29979,29982,29985,29988,29991,29994,29997)))",
        Select(
            b"B04",
            "INBOX",
            qresync=QResyncParams(
                67890007,
                90060115194045000,
                SequenceSet(((1, 29997),)),
                (
                    SequenceSet(((5000, 5000), (7500, 7500), (9000, 9000), (9990, 9999))),
                    SequenceSet(
                        tuple(
                            (n, n)
                            for n in (15000, 22500, 27000, 29970, 29973, 29976, 29979, 29982)
                            + (29985, 29988, 29991, 29994, 29997)
                        )
                    ),
                ),
            ),
        ),
    ),
    (
        b"a EXAMINE x (QRESYNC (1 2))",
        Examine(b"a", "x", qresync=QResyncParams(1, 2)),
    ),
    (b"A003 CREATE owatagusiam/", Create(b"A003", "owatagusiam/")),
    (
        b"t1 CREATE MySpecial (USE (\\drafts \\Sent))",
        Create(b"t1", "MySpecial", ("\\Drafts", "\\Sent")),
    ),
    (b"A683 DELETE blurdybloop", Delete(b"A683", "blurdybloop")),
    (b"A683 RENAME blurdybloop sarasoop", Rename(b"A683", "blurdybloop", "sarasoop")),
    (b"A685 RENAME INBOX old-mail", Rename(b"A685", "INBOX", "old-mail")),
    (b"A002 SUBSCRIBE #news.comp.mail.mime", Subscribe(b"A002", "#news.comp.mail.mime")),
    (b"A002 UNSUBSCRIBE &U,BTFw-", Unsubscribe(b"A002", "台北")),
    (
        b"A042 STATUS blurdybloop (UIDNEXT MESSAGES)",
        Status(b"A042", "blurdybloop", ("UIDNEXT", "MESSAGES")),
    ),
    (
        b"a STATUS INBOX (highestmodseq unseen size)",
        Status(b"a", "INBOX", ("HIGHESTMODSEQ", "UNSEEN", "SIZE")),
    ),
    (
        RFC3501_APPEND,
        Append(
            b"A003",
            "saved-messages",
            (AppendMessage(("\\Seen",), None, RFC3501_APPEND.split(b"}\r\n", 1)[1]),),
        ),
    ),
    (
        b'a APPEND INBOX "17-Jul-1996 02:44:25 -0700" {3}\r\nabc',
        Append(b"a", "INBOX", (AppendMessage((), 837596665.0, b"abc"),)),
    ),
    (
        b"a APPEND INBOX () {3+}\r\nabc",
        Append(b"a", "INBOX", (AppendMessage((), None, b"abc"),)),
    ),
    (
        # RFC 3502 MULTIAPPEND.
        b'a APPEND x (\\Seen) " 1-Jan-2000 00:00:00 +0000" {1}\r\nA {1}\r\nB (\\Flagged) {2}\r\nCD',
        Append(
            b"a",
            "x",
            (
                AppendMessage(("\\Seen",), 946684800.0, b"A"),
                AppendMessage((), None, b"B"),
                AppendMessage(("\\Flagged",), None, b"CD"),
            ),
        ),
    ),
    (
        b"a APPEND x ~{3}\r\n\x00\x01\x02",
        Append(b"a", "x", (AppendMessage((), None, b"\x00\x01\x02", True),)),
    ),
    (b'G0001 GETQUOTA ""', GetQuota(b"G0001", "")),
    (b"G0002 GETQUOTAROOT INBOX", GetQuotaRoot(b"G0002", "INBOX")),
    (
        b'S0000 SETQUOTA "#user/alice" (STORAGE 510 message 5)',
        SetQuota(b"S0000", "#user/alice", (("STORAGE", 510), ("MESSAGE", 5))),
    ),
    (b'a SETQUOTA "" ()', SetQuota(b"a", "", ())),
]


@pytest.mark.parametrize(("line", "command"), CASES)
def test_parse(line: bytes, command: Command) -> None:
    """Each command line (RFC examples included) parses to the expected object."""
    assert parse_command(line) == command


def test_examine_is_readonly() -> None:
    """EXAMINE is SELECT read-only."""
    assert Examine.readonly and not Select.readonly


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"a SELECT", "Missing arguments"),
        (b"a SELECT INBOX (FOO)", "Unknown SELECT parameter FOO"),
        (b"a SELECT INBOX (QRESYNC (0 1))", "Expected a UIDVALIDITY, got 0"),
        (b"a SELECT INBOX (QRESYNC (1 2 1:*))", "'*' is not allowed"),
        (b"a SELECT INBOX (QRESYNC (1 2 1:5 (1:2 3:4))", "Missing ')'"),
        (b"a SELECT &Jjo", "not valid modified UTF-7"),
        (b"a CREATE x (USE (\\Bogus))", "Unknown special-use attribute"),
        (b"a STATUS INBOX ()", "Expected a STATUS item"),
        (b"a STATUS INBOX (MESSAGES BOGUS)", "Unknown STATUS item BOGUS"),
        (b"a STATUS INBOX", "Missing arguments"),
        (b"a APPEND INBOX", "Missing message literal"),
        (b"a APPEND INBOX (\\Seen)", "Missing arguments"),
        (b"a APPEND INBOX (\\Recent) {1}\r\nx", "Invalid system flag \\Recent"),
        (b'a APPEND INBOX "31-Feb-2000 00:00:00 +0000" {1}\r\nx', "Invalid date-time"),
        (b"a APPEND INBOX abc", "Expected the message as a literal"),
        (b"a RENAME x", "Missing arguments"),
    ],
)
def test_errors(line: bytes, message: str) -> None:
    """Malformed arguments give a BadCommand whose text names the problem."""
    result = parse_command(line)
    assert isinstance(result, BadCommand), result
    assert message in result.message


def _spooled(tmp_path: Path, stream: bytes) -> tuple[CommandBytes, list[SpooledLiteral]]:
    """Frame ``stream`` with APPEND literals over 8 octets spooled into ``tmp_path``."""
    spool = AppendSpool(str(tmp_path), 8)
    made: list[SpooledLiteral] = []

    def open_sink(size: int) -> SpooledLiteral:
        made.append(spool.open(size))
        return made[-1]

    events = Framer(spool=open_sink, spool_min_bytes=8).feed(stream)
    cmd = events[-1]
    assert isinstance(cmd, CommandBytes)
    return cmd, made


def test_append_with_spooled_message(tmp_path: Path) -> None:
    """A spooled APPEND message parses to its spool, with flags and date as usual."""
    line = b'a APPEND Drafts (\\Draft) "01-Jan-2000 00:00:00 +0000" {12+}\r\n'
    cmd, made = _spooled(tmp_path, line + b"Hello world!\r\n")
    parsed = parse_command(cmd.data, cmd.spooled)
    assert isinstance(parsed, Append)
    (msg,) = parsed.messages
    assert msg.flags == ("\\Draft",) and msg.internal_date == 946684800.0
    assert msg.data is made[0]
    assert made[0].open().read() == b"Hello world!"
    cmd.close()


def test_literal8_append_with_spooled_message(tmp_path: Path) -> None:
    """A spooled literal8 (RFC 3516) APPEND is marked binary and keeps its NULs."""
    cmd, made = _spooled(
        tmp_path, b"a APPEND x ~{10}\r\n\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\r\n"
    )
    parsed = parse_command(cmd.data, cmd.spooled)
    assert isinstance(parsed, Append) and parsed.messages[0].binary
    assert made[0].open().read() == bytes(range(10))
    cmd.close()


def test_spooled_literal_as_mailbox_name_is_bad(tmp_path: Path) -> None:
    """A spooled literal where a mailbox name belongs is BAD, never read as the next bytes."""
    stream = b"a APPEND {9}\r\n123456789 {3}\r\nabc\r\n"
    cmd, made = _spooled(tmp_path, stream)
    assert len(made) == 1
    parsed = parse_command(cmd.data, cmd.spooled)
    assert isinstance(parsed, BadCommand)
    assert b"A literal of 9 octets is not accepted here" in parsed.response()
    cmd.close()


def test_spooled_message_without_spools_is_bad(tmp_path: Path) -> None:
    """Command bytes whose spooled literal is missing are BAD (literal shorter than announced)."""
    cmd, _made = _spooled(tmp_path, b"a APPEND x {12}\r\nHello world!\r\n")
    parsed = parse_command(cmd.data)
    assert isinstance(parsed, BadCommand)
    assert b"Literal is shorter than announced" in parsed.response()
    cmd.close()
