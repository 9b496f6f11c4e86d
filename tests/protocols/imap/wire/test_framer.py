"""The IMAP framer: commands, literals, limits, on any split of the input."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from mailsuite.protocols.imap.spool import AppendSpool, SpooledLiteral
from mailsuite.protocols.imap.wire.framer import (
    CommandBytes,
    Event,
    Framer,
    InputOverflow,
    LineTooLong,
    LiteralTooLarge,
    NeedLiteral,
)


def feed_bytewise(framer: Framer, data: bytes) -> list[Event]:
    events: list[Event] = []
    for i in range(len(data)):
        events.extend(framer.feed(data[i : i + 1]))
    return events


def feed_random(framer: Framer, data: bytes, seed: int) -> list[Event]:
    rng = random.Random(seed)
    events: list[Event] = []
    pos = 0
    while pos < len(data):
        n = rng.randint(1, 17)
        events.extend(framer.feed(data[pos : pos + n]))
        pos += n
    return events


CASES: list[tuple[bytes, list[Event]]] = [
    (b"a1 NOOP\r\n", [CommandBytes(b"a1 NOOP")]),
    (b"a1 NOOP\n", [CommandBytes(b"a1 NOOP")]),
    (
        b"a1 NOOP\r\na2 CAPABILITY\r\na3 LOGOUT\r\n",
        [CommandBytes(b"a1 NOOP"), CommandBytes(b"a2 CAPABILITY"), CommandBytes(b"a3 LOGOUT")],
    ),
    (
        b"a LOGIN {3}\r\nbob {2}\r\npw\r\n",
        [
            NeedLiteral(b"a", 3, True),
            NeedLiteral(b"a", 2, True),
            CommandBytes(b"a LOGIN {3}\r\nbob {2}\r\npw"),
        ],
    ),
    (
        b"a LOGIN {3+}\r\nbob pw\r\n",
        [NeedLiteral(b"a", 3, False), CommandBytes(b"a LOGIN {3+}\r\nbob pw")],
    ),
    (
        # A literal may hold CRLF and what looks like a literal header.
        b"a APPEND x {9}\r\n{2}\r\nab\r\n\r\n",
        [NeedLiteral(b"a", 9, True), CommandBytes(b"a APPEND x {9}\r\n{2}\r\nab\r\n")],
    ),
    (
        b"a APPEND x {0}\r\n\r\n",
        [NeedLiteral(b"a", 0, True), CommandBytes(b"a APPEND x {0}\r\n")],
    ),
    (
        b"a APPEND x ~{2}\r\n\x00\x01\r\n",
        [NeedLiteral(b"a", 2, True), CommandBytes(b"a APPEND x ~{2}\r\n\x00\x01")],
    ),
    (
        # RFC 3502 MULTIAPPEND: two literals in one command.
        b"a APPEND x {1+}\r\nA (\\Seen) {1+}\r\nB\r\nb NOOP\r\n",
        [
            NeedLiteral(b"a", 1, False),
            NeedLiteral(b"a", 1, False),
            CommandBytes(b"a APPEND x {1+}\r\nA (\\Seen) {1+}\r\nB"),
            CommandBytes(b"b NOOP"),
        ],
    ),
    (b"\r\n", [CommandBytes(b"")]),
]


@pytest.mark.parametrize(("data", "expected"), CASES)
def test_whole_feed(data: bytes, expected: list[Event]) -> None:
    """Fed in one piece, the input yields exactly the expected events in order."""
    assert Framer().feed(data) == expected


@pytest.mark.parametrize(("data", "expected"), CASES)
def test_one_byte_at_a_time(data: bytes, expected: list[Event]) -> None:
    """Fed one byte at a time, the input yields the same events as in one piece."""
    assert feed_bytewise(Framer(), data) == expected


@pytest.mark.parametrize("seed", range(20))
def test_random_splits_of_a_pipeline(seed: int) -> None:
    """Any split of a pipelined stream yields the same commands in order."""
    stream = b"".join(data for data, _ in CASES)
    expected = [e for _, events in CASES for e in events]
    assert feed_random(Framer(), stream, seed) == expected


def test_pending_and_in_literal() -> None:
    """The framer reports a half-received command and a literal in progress."""
    f = Framer()
    assert not f.pending
    f.feed(b"a LOGIN {3}\r\nb")
    assert f.pending and f.in_literal
    assert f.feed(b"ob x\r\n") == [CommandBytes(b"a LOGIN {3}\r\nbob x")]
    assert not f.pending


def test_literal_header_in_the_middle_is_not_a_literal() -> None:
    """A {n} that does not end the line is ordinary text for the parser to reject."""
    assert Framer().feed(b"a LOGIN {3} x\r\n") == [CommandBytes(b"a LOGIN {3} x")]


def test_line_too_long_gives_bad_and_continues() -> None:
    """A line over the soft limit is dropped with its tag and the next command still works."""
    f = Framer(max_line_bytes=20, hard_max_line_bytes=100)
    events = feed_bytewise(f, b"t7 LOGIN " + b"x" * 30 + b"\r\nt8 NOOP\r\n")
    assert events == [LineTooLong(b"t7", 20), CommandBytes(b"t8 NOOP")]


def test_line_too_long_in_one_chunk() -> None:
    """A complete over-long line in one chunk is reported the same way."""
    f = Framer(max_line_bytes=20, hard_max_line_bytes=100)
    events = f.feed(b"t7 LOGIN " + b"x" * 30 + b"\r\nt8 NOOP\r\n")
    assert events == [LineTooLong(b"t7", 20), CommandBytes(b"t8 NOOP")]


def test_line_past_hard_limit_is_fatal() -> None:
    """A line that passes the hard limit without ending gives InputOverflow, then nothing."""
    f = Framer(max_line_bytes=20, hard_max_line_bytes=50)
    events = f.feed(b"t1 " + b"x" * 60)
    assert events == [InputOverflow(50)]
    assert f.feed(b"\r\nt2 NOOP\r\n") == []


def test_line_past_hard_limit_bytewise() -> None:
    """The hard limit also holds when the line arrives byte by byte."""
    f = Framer(max_line_bytes=20, hard_max_line_bytes=50)
    events = feed_bytewise(f, b"t1 " + b"x" * 60)
    assert events == [InputOverflow(50)]


def test_too_long_line_announcing_literal_plus_skips_the_literal() -> None:
    """A rejected line ending in {n+} has its literal octets skipped, not run as commands."""
    f = Framer(max_line_bytes=20, hard_max_line_bytes=1000)
    data = b"t1 APPEND " + b"x" * 20 + b" {9+}\r\nt2 NOOP\r\nt3 NOOP\r\n"
    assert feed_bytewise(f, data) == [LineTooLong(b"t1", 20), CommandBytes(b"t3 NOOP")]


def test_synchronizing_literal_too_large() -> None:
    """A too-large {n} gets LiteralTooLarge (not fatal) and the session goes on."""
    f = Framer(max_literal_bytes=10)
    events = f.feed(b"a APPEND x {11}\r\nb NOOP\r\n")
    assert events == [LiteralTooLarge(b"a", 11, 10, False), CommandBytes(b"b NOOP")]


def test_nonsynchronizing_literal_too_large_is_fatal() -> None:
    """A too-large {n+} is fatal: its octets are on their way and are not commands."""
    f = Framer(max_literal_bytes=10)
    events = f.feed(b"a APPEND x {11+}\r\nb NOOP\r\n")
    assert events == [LiteralTooLarge(b"a", 11, 10, True)]
    assert f.feed(b"c NOOP\r\n") == []


def test_many_literals_bounded_by_the_literal_limit() -> None:
    """Several literals in one command together may not pass the literal limit."""
    f = Framer(max_literal_bytes=10)
    events = f.feed(b"a APPEND x {6+}\r\nabcdef {6+}\r\n")
    assert events[-1] == LiteralTooLarge(b"a", 6, 10, True)


def test_tag_of_garbage_is_star() -> None:
    """A too-long line without a readable tag is reported with tag '*'."""
    f = Framer(max_line_bytes=5)
    assert f.feed(b"(((((((((\r\n") == [LineTooLong(b"*", 5)]


def test_huge_literal_size_digits() -> None:
    """A literal size with absurdly many digits is not a literal header and cannot overflow."""
    data = b"a LOGIN {" + b"9" * 40 + b"}\r\n"
    assert Framer().feed(data) == [CommandBytes(data[:-2])]


# -- large APPEND literals go to a spool -------------------------------------------

SPOOL_MIN = 16  # literals over this many octets in an APPEND are spooled in these tests
BIG = b"Subject: big\r\n\r\n" + b"0123456789" * 5  # 66 octets, CRLFs and digits


def spooling_framer(tmp_path: Path, **kw: int) -> tuple[Framer, list[SpooledLiteral]]:
    """A framer spooling into real spool files under ``tmp_path``; the list gets every one."""
    spool = AppendSpool(str(tmp_path), SPOOL_MIN)
    spool.prepare()
    made: list[SpooledLiteral] = []

    def open_sink(size: int) -> SpooledLiteral:
        made.append(spool.open(size))
        return made[-1]

    return Framer(spool=open_sink, spool_min_bytes=SPOOL_MIN, **kw), made


def spooled_octets(cmd: CommandBytes, offset: int) -> bytes:
    return cmd.spooled[offset].open().read()


@pytest.mark.parametrize("split", ["whole", "bytewise", "random"])
def test_large_append_literal_goes_to_the_spool(tmp_path: Path, split: str) -> None:
    """An APPEND literal over the threshold is spooled whole; the command keeps only its header."""
    framer, made = spooling_framer(tmp_path)
    stream = b"a APPEND INBOX (\\Seen) {66}\r\n" + BIG + b"\r\nb NOOP\r\n"
    if split == "whole":
        events = framer.feed(stream)
    elif split == "bytewise":
        events = feed_bytewise(framer, stream)
    else:
        events = feed_random(framer, stream, 7)
    header = b"a APPEND INBOX (\\Seen) {66}\r\n"
    assert events == [NeedLiteral(b"a", 66, True), CommandBytes(header), CommandBytes(b"b NOOP")]
    cmd = events[1]
    assert isinstance(cmd, CommandBytes)
    assert list(cmd.spooled) == [len(header)]
    assert spooled_octets(cmd, len(header)) == BIG
    assert len(made) == 1 and not made[0].closed
    cmd.close()
    assert made[0].closed


def test_small_append_literal_stays_in_memory(tmp_path: Path) -> None:
    """An APPEND literal up to the threshold stays inline, with no spool opened."""
    framer, made = spooling_framer(tmp_path)
    events = framer.feed(b"a APPEND INBOX {16+}\r\n" + b"x" * 16 + b"\r\n")
    assert events == [
        NeedLiteral(b"a", 16, False),
        CommandBytes(b"a APPEND INBOX {16+}\r\n" + b"x" * 16),
    ]
    assert made == [] and not events[1].spooled  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "line", [b"a LOGIN {66}", b"a SEARCH TEXT {66}", b"a XAPPEND x {66}", b"a UID APPEND {66}"]
)
def test_other_commands_keep_large_literals_inline(tmp_path: Path, line: bytes) -> None:
    """Only APPEND spools: a large literal of any other command stays in the command bytes."""
    framer, made = spooling_framer(tmp_path)
    events = framer.feed(line + b"\r\n" + BIG + b"\r\n")
    assert events[-1] == CommandBytes(line + b"\r\n" + BIG)
    assert made == []


def test_second_spooled_literal_has_its_own_offset(tmp_path: Path) -> None:
    """Two large messages in one APPEND (RFC 3502 syntax) each get a spool at their offset."""
    framer, made = spooling_framer(tmp_path)
    first = b"a append x {66+}\r\n"
    second = b" (\\Flagged) {66+}\r\n"
    events = framer.feed(first + BIG + second + BIG[::-1] + b"\r\n")
    cmd = events[-1]
    assert isinstance(cmd, CommandBytes)
    assert cmd.data == first + second
    assert sorted(cmd.spooled) == [len(first), len(first) + len(second)]
    assert spooled_octets(cmd, len(first)) == BIG
    assert spooled_octets(cmd, len(first) + len(second)) == BIG[::-1]
    cmd.close()
    assert all(s.closed for s in made)


def test_literal_limit_counts_spooled_octets(tmp_path: Path) -> None:
    """Spooled octets count toward the literal limit; the refused command's spool is closed."""
    framer, made = spooling_framer(tmp_path, max_literal_bytes=100)
    events = framer.feed(b"a APPEND x {66+}\r\n" + BIG + b" {40}\r\nb NOOP\r\n")
    assert events == [
        NeedLiteral(b"a", 66, False),
        LiteralTooLarge(b"a", 40, 100, False),
        CommandBytes(b"b NOOP"),
    ]
    assert len(made) == 1 and made[0].closed


@pytest.mark.parametrize("bytewise", [False, True])
def test_too_long_line_after_spooled_literal_closes_the_spool(
    tmp_path: Path, bytewise: bool
) -> None:
    """A line over the limit after a spooled literal drops the command and closes its spool."""
    framer, made = spooling_framer(tmp_path, max_line_bytes=40)
    feed = (lambda data: feed_bytewise(framer, data)) if bytewise else framer.feed
    events = feed(b"a APPEND x {66+}\r\n" + BIG + b" " + b"y" * 50 + b"\r\nb NOOP\r\n")
    assert events == [NeedLiteral(b"a", 66, False), LineTooLong(b"a", 40), CommandBytes(b"b NOOP")]
    assert len(made) == 1 and made[0].closed


def test_input_overflow_after_spooled_literal_closes_the_spool(tmp_path: Path) -> None:
    """A line past the hard limit after a spooled literal ends the framer and closes the spool."""
    framer, made = spooling_framer(tmp_path, max_line_bytes=40, hard_max_line_bytes=60)
    events = framer.feed(b"a APPEND x {66+}\r\n" + BIG + b" " + b"y" * 70)
    assert events == [NeedLiteral(b"a", 66, False), InputOverflow(60)]
    assert len(made) == 1 and made[0].closed


def test_close_mid_literal_closes_the_spool(tmp_path: Path) -> None:
    """Closing the framer in the middle of a spooled literal (client gone) closes its spool."""
    framer, made = spooling_framer(tmp_path)
    framer.feed(b"a APPEND x {66}\r\n" + BIG[:30])
    assert framer.in_literal and framer.pending
    assert len(made) == 1 and made[0].written == 30 and not made[0].closed
    framer.close()
    assert made[0].closed
    assert framer.feed(BIG[30:] + b"\r\n") == []


def test_literal_header_text_inside_a_spooled_literal_is_data(tmp_path: Path) -> None:
    """A spooled literal's octets are never read as lines, even when they look like commands."""
    framer, made = spooling_framer(tmp_path)
    body = (b"b NOOP\r\nc APPEND y {99}\r\n" * 3)[:66]
    events = feed_bytewise(framer, b"a APPEND x {66}\r\n" + body + b"\r\nd NOOP\r\n")
    assert events[1:] == [CommandBytes(b"a APPEND x {66}\r\n"), CommandBytes(b"d NOOP")]
    assert spooled_octets(events[1], 17) == body  # type: ignore[arg-type]
    assert len(made) == 1
