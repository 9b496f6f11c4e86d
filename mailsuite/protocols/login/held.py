"""Pre-login input queued as parsed events *and* as the exact bytes the client sent.

A client may pipeline commands after its login (RFC 2449 PIPELINING, RFC
3501 5.5), and the last of them may have arrived only in part. Once the front
end hands the connection on (to a backend or to this process's IMAP/POP3
service) none of that may be lost or changed: the next protocol must read the
very bytes the client sent, partial line and unanswered literal included. So
the input is fed to the framer in pieces that end at a line feed: an event a
framer (IMAP's or POP3's) emits ends a line, or reports a limit when a piece
without one overflows, so it always comes at the end of a piece, and the
bytes up to there can be kept with it. :meth:`HeldInput.take_raw`
returns the bytes of every event not yet handled plus the incomplete rest.

The bytes of one incomplete line are kept up to ``max_tail_bytes``: the
framers refuse longer lines anyway, so beyond that the line is dropped (the
framer reports it) instead of being kept for a replay that would be refused.

No Twisted here: this is plain bookkeeping, tested byte by byte.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Final, Generic, TypeVar

__all__ = ["DEFAULT_MAX_TAIL_BYTES", "HeldInput"]

# Above the IMAP hard line limit (1 MiB) plus a pre-login literal: only garbage is longer.
DEFAULT_MAX_TAIL_BYTES: Final = 2 * 1024 * 1024

E = TypeVar("E")


class HeldInput(Generic[E]):
    """A FIFO of framer events, each with the raw bytes that completed it.

    Args:
        frame: the framer's ``feed`` (bytes in, complete events out); it is
            only ever given pieces that contain at most one line feed, at
            their end.
        max_tail_bytes: the most bytes of one incomplete command kept.
    """

    __slots__ = ("_dropping", "_entries", "_size", "_tail", "frame", "max_tail_bytes")

    def __init__(
        self, frame: Callable[[bytes], list[E]], max_tail_bytes: int = DEFAULT_MAX_TAIL_BYTES
    ) -> None:
        self.frame = frame
        self.max_tail_bytes = max_tail_bytes
        self._entries: deque[tuple[E, bytes]] = deque()
        self._tail = bytearray()  # bytes fed to the framer that completed no event yet
        self._dropping = False  # the current command outgrew max_tail_bytes
        self._size = 0  # bytes held in _entries

    @property
    def held_bytes(self) -> int:
        """Bytes kept for unhandled events and the incomplete rest."""
        return self._size + len(self._tail)

    @property
    def backlog_bytes(self) -> int:
        """Bytes waiting behind an unhandled event: what reading may pause for.

        Zero while no event waits: then only more input can complete the
        command in progress, and pausing would stall the connection.
        """
        return self._size + len(self._tail) if self._entries else 0

    def feed(self, data: bytes) -> None:
        """Frame ``data``; queue each event it completes, keeping the bytes."""
        start = 0
        end = len(data)
        while start < end:
            nl = data.find(b"\n", start)
            stop = end if nl < 0 else nl + 1
            piece = data[start:stop]
            start = stop
            events = self.frame(piece)
            if self._dropping:
                # The over-long line is over at its line feed; keep bytes from the next one.
                self._dropping = nl < 0
            else:
                self._tail += piece
                if len(self._tail) > self.max_tail_bytes:
                    self._tail.clear()
                    self._dropping = nl < 0
            if not events:
                continue
            # Every event but the last ended within this piece without consuming
            # bytes of its own (e.g. a limit report); the last carries the bytes.
            raw = bytes(self._tail)
            self._tail.clear()
            self._size += len(raw)
            for event in events[:-1]:
                self._entries.append((event, b""))
            self._entries.append((events[-1], raw))

    def popleft(self) -> E:
        """The oldest unhandled event (its bytes are forgotten: it is being answered)."""
        event, raw = self._entries.popleft()
        self._size -= len(raw)
        return event

    def __bool__(self) -> bool:
        return bool(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Forget everything (after STARTTLS/STLS: RFC 3501 6.2.1, RFC 2595 4)."""
        self._entries.clear()
        self._tail.clear()
        self._dropping = False
        self._size = 0

    def take_raw(self) -> bytes:
        """The exact bytes of every unhandled event and of the incomplete rest; then clear."""
        raw = b"".join(raw for _, raw in self._entries) + bytes(self._tail)
        self.clear()
        return raw
