"""Tests for the sans-IO LMTP wire layer."""

from __future__ import annotations

import pytest

from mailsuite.protocols.lmtp.wire import (
    CommandLine,
    DataChunk,
    DataEnd,
    DotUnstuffer,
    Event,
    LineTooLong,
    LmtpDecoder,
    Reply,
)


def drain(decoder: LmtpDecoder) -> list[Event]:
    events: list[Event] = []
    while (ev := decoder.next_event()) is not None:
        events.append(ev)
        if isinstance(ev, DataEnd):
            break
    return events


def body_of(events: list[Event]) -> bytes:
    return b"".join(e.data for e in events if isinstance(e, DataChunk))


def unstuff_bytewise(stream: bytes) -> tuple[bytes, bytes]:
    """Feed a DATA body one byte at a time; return (body, bytes after the end marker)."""
    dec = LmtpDecoder()
    dec.start_data()
    events: list[Event] = []
    fed = 0
    while not any(isinstance(e, DataEnd) for e in events):
        assert fed < len(stream), "end marker never found"
        dec.feed(stream[fed : fed + 1])
        fed += 1
        events.extend(drain(dec))
    dec.feed(stream[fed:])
    rest = []
    while (ev := dec.next_event()) is not None:
        assert isinstance(ev, CommandLine)
        rest.append(ev.line)
    return body_of(events), b"\n".join(rest)


def test_reply_single_line_has_enhanced_code() -> None:
    """A one-line reply encodes as code, enhanced code and text, CRLF-terminated."""
    assert Reply.of(250, "2.1.5", "OK").encode() == b"250 2.1.5 OK\r\n"


def test_reply_multi_line_uses_dash_continuations() -> None:
    """A multi-line reply puts '-' after the code on every line but the last."""
    r = Reply(250, None, ("mx.example", "PIPELINING", "SIZE 10"))
    assert r.encode() == b"250-mx.example\r\n250-PIPELINING\r\n250 SIZE 10\r\n"


def test_command_lines_are_split_on_crlf_and_bare_lf() -> None:
    """Command lines end at CRLF, and a bare LF is accepted too."""
    dec = LmtpDecoder()
    dec.feed(b"LHLO a\r\nNOOP\nQUIT\r\n")
    assert drain(dec) == [CommandLine(b"LHLO a"), CommandLine(b"NOOP"), CommandLine(b"QUIT")]


def test_partial_command_line_waits_for_more() -> None:
    """A command split over several reads is reported only once complete."""
    dec = LmtpDecoder()
    for b in b"NOOP\r":
        dec.feed(bytes([b]))
        assert dec.next_event() is None
    dec.feed(b"\n")
    assert dec.next_event() == CommandLine(b"NOOP")


def test_overlong_line_is_reported_once_and_discarded() -> None:
    """An overlong line yields one LineTooLong and the next line parses normally."""
    dec = LmtpDecoder(max_line_bytes=16)
    dec.feed(b"X" * 40)
    assert dec.next_event() == LineTooLong()
    dec.feed(b"Y" * 40 + b"\r\nNOOP\r\n")
    assert drain(dec) == [CommandLine(b"NOOP")]


def test_overlong_complete_line_is_reported() -> None:
    """A complete line beyond the limit is refused even when it arrives at once."""
    dec = LmtpDecoder(max_line_bytes=16)
    dec.feed(b"MAIL FROM:<" + b"a" * 30 + b">\r\nNOOP\r\n")
    assert drain(dec) == [LineTooLong(), CommandLine(b"NOOP")]


@pytest.mark.parametrize(
    ("stream", "body"),
    [
        (b".\r\n", b""),
        (b"a\r\n.\r\n", b"a\r\n"),
        (b"..x\r\n.\r\n", b".x\r\n"),
        (b"a\r\n..\r\n.\r\n", b"a\r\n.\r\n"),
        (b"a\r\n...\r\nb\r\n.\r\n", b"a\r\n..\r\nb\r\n"),
        (b"x.\r\n.y\r\n.\r\n", b"x.\r\ny\r\n"),
        (b"a\rb\r\n.\r\n", b"a\rb\r\n"),
    ],
)
def test_dot_unstuffing_is_the_same_at_any_split(stream: bytes, body: bytes) -> None:
    """DATA bodies are unstuffed and ended correctly whether fed whole or byte by byte."""
    dec = LmtpDecoder()
    dec.start_data()
    dec.feed(stream + b"NOOP\r\n")
    events = drain(dec)
    assert body_of(events) == body
    assert dec.next_event() == CommandLine(b"NOOP")
    assert unstuff_bytewise(stream + b"NOOP\r\n") == (body, b"NOOP")


def test_large_body_is_delivered_in_bounded_chunks() -> None:
    """A multi-megabyte body arrives as several chunks, none larger than the chunk bound."""
    line = b"x" * 998 + b"\r\n"
    stream = line * 3000 + b".\r\n"
    dec = LmtpDecoder()
    dec.start_data()
    dec.feed(stream)
    events = drain(dec)
    chunks = [e for e in events if isinstance(e, DataChunk)]
    assert len(chunks) > 1
    assert max(len(c.data) for c in chunks) <= 256 * 1024
    assert body_of(events) == line * 3000


def test_unstuffer_keeps_trailing_cr_until_it_can_decide() -> None:
    """A body chunk ending in CR holds the CR back until the next byte shows what it is."""
    u = DotUnstuffer()
    out, used = u.feed(b"abc\r")
    assert (out, used) == (b"abc", 3)
    out, used = u.feed(b"\r\n.\r\n")
    assert out == b"\r\n" and u.done and used == 5


def test_bdat_chunk_is_read_raw_by_size() -> None:
    """BDAT reads exactly the announced octets, dots and all, then commands resume."""
    dec = LmtpDecoder()
    dec.start_bdat(7)
    dec.feed(b".\r\n.\r\nxQUIT\r\n")
    events = drain(dec)
    assert body_of(events) == b".\r\n.\r\nx"
    assert events[-1] == DataEnd()
    assert dec.next_event() == CommandLine(b"QUIT")


def test_bdat_zero_size_ends_at_once() -> None:
    """BDAT 0 produces the chunk end without waiting for bytes."""
    dec = LmtpDecoder()
    dec.start_bdat(0)
    assert dec.next_event() == DataEnd()
