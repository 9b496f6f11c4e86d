"""HeldInput: framed events plus the exact bytes, replayed to whoever takes the connection."""

from __future__ import annotations

import pytest

from mailsuite.protocols.imap.wire.framer import CommandBytes, Event, Framer, NeedLiteral
from mailsuite.protocols.login.held import HeldInput
from mailsuite.protocols.pop3.wire import LineBuffer, LineTooLong

IMAP_STREAM = (
    b"a LOGIN {5}\r\nalice pw\r\n"
    b"b SELECT INBOX\n"  # a bare LF, as some clients send
    b"c APPEND INBOX {11+}\r\nhello\nworld\r\n"
    b"d NOO"
)


def _imap() -> HeldInput[Event]:
    framer = Framer()
    return HeldInput(framer.feed)


@pytest.mark.parametrize("step", [1, 2, 7, len(IMAP_STREAM)])
def test_imap_rest_after_the_login_is_replayed_exactly(step: int) -> None:
    """Whatever the split, the bytes after the first command come back exactly as sent."""
    held = _imap()
    for i in range(0, len(IMAP_STREAM), step):
        held.feed(IMAP_STREAM[i : i + step])
    assert isinstance(held.popleft(), NeedLiteral)
    first = held.popleft()
    assert isinstance(first, CommandBytes) and first.data == b"a LOGIN {5}\r\nalice pw"
    assert held.take_raw() == IMAP_STREAM[len(b"a LOGIN {5}\r\nalice pw\r\n") :]
    assert not held and held.held_bytes == 0


def test_replayed_imap_bytes_frame_to_the_same_commands() -> None:
    """A fresh framer given the replay sees the same pipelined commands, the half one pending."""
    held = _imap()
    held.feed(IMAP_STREAM)
    held.popleft()
    held.popleft()
    replay = Framer()
    events = replay.feed(held.take_raw())
    commands = [e.data for e in events if isinstance(e, CommandBytes)]
    assert commands == [b"b SELECT INBOX", b"c APPEND INBOX {11+}\r\nhello\nworld"]
    assert replay.pending


def test_pop3_lines_and_partial_line_are_kept() -> None:
    """POP3: queued lines and an unfinished one are replayed byte for byte, CRs included."""
    held: HeldInput[bytes | LineTooLong] = HeldInput(LineBuffer(255).feed)
    for byte in b"USER bob\r\nPASS pw\r\nSTAT\r\nLIST 1\nRE":
        held.feed(bytes([byte]))
    assert [held.popleft(), held.popleft()] == [b"USER bob", b"PASS pw"]
    assert len(held) == 2
    assert held.take_raw() == b"STAT\r\nLIST 1\nRE"


def test_clear_forgets_everything_as_after_starttls() -> None:
    """clear() drops queued events and the unfinished rest (nothing crosses a TLS start)."""
    held = _imap()
    held.feed(b"a STARTTLS\r\nb LOGIN x y\r\nc NO")
    held.popleft()
    held.clear()
    assert not held and held.take_raw() == b""


def test_an_oversized_unfinished_line_is_not_kept() -> None:
    """Bytes of a line past max_tail_bytes are dropped up to its end; the next line is kept."""
    held: HeldInput[bytes | LineTooLong] = HeldInput(LineBuffer(64).feed, max_tail_bytes=100)
    held.feed(b"x" * 150)
    held.feed(b"x" * 10)
    assert held.held_bytes == 0
    held.feed(b"x\r\nNOOP\r\nST")
    event = held.popleft()
    assert isinstance(event, LineTooLong)
    assert held.take_raw() == b"NOOP\r\nST"
