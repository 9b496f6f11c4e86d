"""Resumable IMAP command framing: bytes in, complete commands and literal requests out.

The framer knows only where a command ends (RFC 3501 section 2.2: a line, plus
one more line after every literal) and the limits; what the command means is
the parser's job. It keeps the literal bytes inline, right after their
``{n}CRLF`` header, so the parser reads one buffer in one pass and never
re-parses after a literal arrives.

It works on any split of the input, down to one byte at a time, and emits
events in input order, so pipelined commands are answered in order.

One exception to "inline": an APPEND message literal larger than
``spool_min_bytes`` goes, as it arrives, into a :class:`LiteralSink` the
server supplies (a private spool file), so a 50 MB message never sits in
memory. Its header stays in the command bytes, followed by no octets, and
:attr:`CommandBytes.spooled` maps the offset where the octets would have
been to the sink; the parser takes the message from there. The framer
itself does no I/O: it only calls the sink.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import BinaryIO, Final, Protocol

from mailsuite.limits import (
    IMAP_APPEND_MEMORY_BYTES,
    IMAP_HARD_MAX_LINE_BYTES,
    IMAP_MAX_LINE_BYTES,
    IMAP_MAX_LITERAL_BYTES,
)

__all__ = [
    "PREAUTH_MAX_LITERAL_BYTES",
    "CommandBytes",
    "Event",
    "Framer",
    "InputOverflow",
    "LineTooLong",
    "LiteralSink",
    "LiteralTooLarge",
    "NeedLiteral",
    "close_event",
]

# A literal header at the very end of a line: "{12}", "{12+}" (RFC 7888) or "~{12}" (RFC 3516).
_LITERAL_AT_END: Final = re.compile(rb"~?\{(\d{1,20})(\+?)\}\Z")
# Before login only LOGIN/AUTHENTICATE need literals, and only small ones: a stranger
# must not make us buffer megabytes. The server sets ``max_literal_bytes`` to this
# until authentication succeeds, then to the configured APPEND limit.
PREAUTH_MAX_LITERAL_BYTES: Final = 64 * 1024
_TAG_CHARS: Final = re.compile(rb"[^\x00-\x20\x7f-\xff(){%*\"\\+]+")
# The first line of an APPEND (RFC 3501 6.3.11): only its message literals are spooled;
# every other command's literals are small arguments and stay inline.
_APPEND_LINE: Final = re.compile(rb"[^ ]+ +APPEND ", re.IGNORECASE)


class LiteralSink(Protocol):
    """Where a large APPEND literal's octets go instead of memory.

    The framer calls :meth:`write` with the octets as they arrive (on the
    caller's thread, so it must be cheap: buffered page-cache writes), then
    :meth:`finish` once all ``size`` octets are in. Whoever ends up holding
    the sink (the framer while reading, then the :class:`CommandBytes`) must
    call :meth:`close` exactly when it is done with it, on every path.
    """

    @property
    def size(self) -> int:
        """The literal's announced size in octets."""
        ...

    def write(self, data: memoryview) -> None:
        """Append ``data``; never raises (a failure is reported by :meth:`open`)."""
        ...

    def finish(self) -> None:
        """All octets arrived; never raises."""
        ...

    def open(self) -> BinaryIO:
        """Blocking: the octets from the start, as a binary file.

        Raises:
            mailsuite.errors.MailError: the spool could not be written (TEMP).
        """
        ...

    def close(self) -> None:
        """Release the storage; idempotent, never raises."""
        ...


@dataclass(frozen=True, slots=True)
class CommandBytes:
    """One complete command as sent (literals right after their ``{n}CRLF``), no last CRLF.

    ``spooled`` maps the offset in ``data`` right after a spooled literal's
    header to its sink (the literal's octets are not in ``data``); None for
    every command but a large APPEND. Whoever handles the command closes them.
    """

    data: bytes
    spooled: Mapping[int, LiteralSink] | None = field(default=None, compare=False)

    def close(self) -> None:
        """Release the spooled literals (after the command ran, or when it never will)."""
        if self.spooled:
            for sink in self.spooled.values():
                sink.close()


@dataclass(frozen=True, slots=True)
class NeedLiteral:
    """A literal header was read; the framer now waits for ``size`` octets.

    When ``synchronizing`` is true the server must send a continuation
    request ("+ Ready") before the client sends the octets (RFC 3501 7.5);
    a ``{n+}`` literal (RFC 7888 LITERAL+) must not get one.
    """

    tag: bytes
    size: int
    synchronizing: bool


@dataclass(frozen=True, slots=True)
class LineTooLong:
    """A line exceeded the soft limit; it was discarded and deserves a tagged BAD."""

    tag: bytes
    limit_bytes: int


@dataclass(frozen=True, slots=True)
class LiteralTooLarge:
    """A literal exceeded the size limit: tagged NO [TOOBIG].

    ``fatal`` is true for a non-synchronizing literal, whose octets are already
    on their way: RFC 7888 section 4 lets the server close the connection
    (BYE [TOOBIG]) rather than read them. A synchronizing one is simply never
    answered with "+", so the client does not send it and the session goes on.
    """

    tag: bytes
    size: int
    limit_bytes: int
    fatal: bool


@dataclass(frozen=True, slots=True)
class InputOverflow:
    """A line passed the hard limit without ending: send BYE and close the connection."""

    limit_bytes: int


Event = CommandBytes | NeedLiteral | LineTooLong | LiteralTooLarge | InputOverflow


def close_event(event: Event) -> None:
    """Release what an event holds (a command's spooled literals) when it will not run."""
    if isinstance(event, CommandBytes) and event.spooled is not None:
        event.close()


class Framer:
    """Split a client's byte stream into commands.

    Args:
        max_line_bytes: longest accepted line (without CRLF); longer lines are
            discarded and reported as :class:`LineTooLong`.
        hard_max_line_bytes: a line this long that still has not ended is
            reported as :class:`InputOverflow`; the framer then stops.
        max_literal_bytes: largest accepted literal (total per command); the
            attribute of the same name may be changed between commands, e.g.
            :data:`PREAUTH_MAX_LITERAL_BYTES` before login.
        spool: opens a :class:`LiteralSink` for a literal of the given size;
            None: every literal stays in memory.
        spool_min_bytes: an APPEND literal larger than this goes to ``spool``.
    """

    __slots__ = (
        "_buf",
        "_parts",
        "_literal_left",
        "_literal_skip",
        "_discarding",
        "_discard_tag",
        "_discarded",
        "_tail",
        "_command_bytes",
        "_dead",
        "_sink",
        "_spooled",
        "_offset",
        "max_line_bytes",
        "hard_max_line_bytes",
        "max_literal_bytes",
        "spool",
        "spool_min_bytes",
    )

    def __init__(
        self,
        *,
        max_line_bytes: int = IMAP_MAX_LINE_BYTES,
        hard_max_line_bytes: int = IMAP_HARD_MAX_LINE_BYTES,
        max_literal_bytes: int = IMAP_MAX_LITERAL_BYTES,
        spool: Callable[[int], LiteralSink] | None = None,
        spool_min_bytes: int = IMAP_APPEND_MEMORY_BYTES,
    ) -> None:
        self.max_line_bytes = max_line_bytes
        self.hard_max_line_bytes = max(hard_max_line_bytes, max_line_bytes)
        self.max_literal_bytes = max_literal_bytes
        self.spool = spool
        self.spool_min_bytes = spool_min_bytes
        self._buf = bytearray()  # unconsumed input of the current line
        self._parts: list[bytes] = []  # completed pieces of the current command
        self._literal_left = 0  # octets of literal still to read into _parts
        self._literal_skip = 0  # octets of a rejected literal still to throw away
        self._discarding = False  # inside an over-long line, dropping bytes up to its LF
        self._discard_tag = b"*"
        self._discarded = 0
        self._tail = b""
        self._command_bytes = 0  # bytes in _parts, to bound a command made of many literals
        self._dead = False
        self._sink: LiteralSink | None = None  # the spooled literal being read
        self._spooled: dict[int, LiteralSink] = {}  # the current command's spooled literals
        self._offset = 0  # length of b"".join(_parts): where the next part starts

    @property
    def in_literal(self) -> bool:
        """True while the framer is reading literal octets (not lines)."""
        return self._literal_left > 0

    @property
    def pending(self) -> bool:
        """True when part of a command has been received but not yet completed."""
        return bool(self._buf or self._parts or self._literal_left or self._discarding)

    def close(self) -> None:
        """Release the half-received command's spooled literals (connection gone, reset).

        The framer reads nothing more afterwards.
        """
        self._dead = True
        self._drop_spooled()

    def feed(self, data: bytes) -> list[Event]:
        """Consume ``data`` and return every event it completes, in order.

        An empty list means "need more input". After :class:`InputOverflow`
        the framer ignores all further input.
        """
        events: list[Event] = []
        if self._dead or not data:
            return events
        if (
            data[-1] == 0x0A
            and data.find(b"\n") == len(data) - 1
            and not (self._buf or self._parts or self._literal_left)
            and not (self._literal_skip or self._discarding)
            and len(data) <= self.max_line_bytes
        ):
            # The common case: exactly one whole, short line and nothing half-read.
            self._line(data[:-2] if data.endswith(b"\r\n") else data[:-1], events)
            return events
        view = memoryview(data)
        pos = 0
        end = len(view)
        while pos < end and not self._dead:
            if self._literal_skip:
                take = min(self._literal_skip, end - pos)
                self._literal_skip -= take
                pos += take
                continue
            if self._literal_left:
                take = min(self._literal_left, end - pos)
                sink = self._sink
                if sink is not None:
                    # Straight to the spool: the octets are never gathered in memory.
                    sink.write(view[pos : pos + take])
                    self._literal_left -= take
                    pos += take
                    if not self._literal_left:
                        sink.finish()
                        self._sink = None
                    continue
                self._buf += view[pos : pos + take]
                self._literal_left -= take
                pos += take
                if not self._literal_left:
                    self._parts.append(bytes(self._buf))
                    self._offset += len(self._buf)
                    self._command_bytes += len(self._buf)
                    self._buf.clear()
                continue
            nl = data.find(b"\n", pos)
            if self._discarding:
                pos = self._discard(view, pos, nl, events)
                continue
            if nl < 0:
                self._buf += view[pos:]
                pos = end
                if len(self._buf) > self.max_line_bytes:
                    self._start_discard(len(self._buf), events)
                continue
            self._buf += view[pos:nl]
            pos = nl + 1
            line = bytes(self._buf)
            self._buf.clear()
            if line.endswith(b"\r"):
                line = line[:-1]
            if len(line) > self.hard_max_line_bytes:
                events.append(InputOverflow(self.hard_max_line_bytes))
                self._dead = True
                break
            if len(line) > self.max_line_bytes:
                # The tag is on the command's first line, which may precede a literal.
                tag = self._tag_of(self._parts[0] if self._parts else line)
                self._reset_command()
                events.append(LineTooLong(tag, self.max_line_bytes))
                self._after_rejected_line(line)
                continue
            self._line(line, events)
        if self._dead and self._spooled:
            self._drop_spooled()  # the command can never complete now
        return events

    def _line(self, line: bytes, events: list[Event]) -> None:
        """Handle one complete line (CR LF stripped) of the current command."""
        m = _LITERAL_AT_END.search(line) if line.endswith(b"}") else None
        if m is None:
            self._parts.append(line)
            data = b"".join(self._parts)
            self._parts = []
            self._command_bytes = 0
            self._offset = 0
            if self._spooled:
                spooled, self._spooled = self._spooled, {}
                events.append(CommandBytes(data, spooled))
            else:
                events.append(CommandBytes(data))
            return
        size = int(m.group(1))
        synchronizing = not m.group(2)
        first = self._parts[0] if self._parts else line
        tag = self._tag_of(first)
        if size > self.max_literal_bytes or self._command_bytes + size > self.max_literal_bytes:
            self._reset_command()
            events.append(LiteralTooLarge(tag, size, self.max_literal_bytes, not synchronizing))
            if not synchronizing:
                # RFC 7888 section 4: the octets follow regardless; do not read them as commands.
                self._dead = True
            return
        # The literal's octets follow its header's CRLF directly, as on the wire.
        self._parts.append(line + b"\r\n")
        self._offset += len(line) + 2
        self._command_bytes += len(line)
        if (
            self.spool is not None
            and size > self.spool_min_bytes
            and _APPEND_LINE.match(first) is not None
        ):
            sink = self.spool(size)
            self._spooled[self._offset] = sink
            self._command_bytes += size
            if size:
                self._sink = sink
            else:
                sink.finish()
        events.append(NeedLiteral(tag, size, synchronizing))
        self._literal_left = size

    def _reset_command(self) -> None:
        """Forget the command read so far (it was refused), with its spooled literals."""
        self._parts = []
        self._command_bytes = 0
        self._offset = 0
        self._drop_spooled()

    def _drop_spooled(self) -> None:
        self._sink = None
        if self._spooled:
            spooled, self._spooled = self._spooled, {}
            for sink in spooled.values():
                sink.close()

    def _start_discard(self, seen: int, events: list[Event]) -> None:
        """Begin dropping an over-long line whose end has not arrived yet."""
        first = self._parts[0] if self._parts else bytes(self._buf[:256])
        self._discard_tag = self._tag_of(first)
        self._discarding = True
        self._discarded = seen
        self._tail = bytes(self._buf[-32:])
        self._buf.clear()
        self._reset_command()
        if seen > self.hard_max_line_bytes:
            events.append(InputOverflow(self.hard_max_line_bytes))
            self._dead = True

    def _discard(self, view: memoryview, pos: int, nl: int, events: list[Event]) -> int:
        """Drop input up to the end of an over-long line; return the new position."""
        stop = len(view) if nl < 0 else nl
        self._discarded += stop - pos
        self._tail = (self._tail + bytes(view[max(pos, stop - 32) : stop]))[-32:]
        if self._discarded > self.hard_max_line_bytes:
            events.append(InputOverflow(self.hard_max_line_bytes))
            self._dead = True
            return len(view)
        if nl < 0:
            return len(view)
        self._discarding = False
        events.append(LineTooLong(self._discard_tag, self.max_line_bytes))
        self._after_rejected_line(self._tail.rstrip(b"\r"))
        return nl + 1

    def _after_rejected_line(self, line: bytes) -> None:
        """Skip the literal a rejected line announced, when the client sends it unasked."""
        m = _LITERAL_AT_END.search(line)
        if m is not None and m.group(2):
            size = int(m.group(1))
            if size > self.max_literal_bytes:
                self._dead = True
            else:
                # A LITERAL+ client sends the octets without waiting; they are not commands.
                self._literal_skip = size

    @staticmethod
    def _tag_of(line: bytes) -> bytes:
        """The tag of a (possibly broken) command line, or ``*`` when it has none."""
        m = _TAG_CHARS.match(line)
        if m is None or (m.end() < len(line) and line[m.end()] != 0x20):
            return b"*"
        return m.group(0)[:64]
