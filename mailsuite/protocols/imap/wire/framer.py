"""Resumable IMAP command framing: bytes in, complete commands and literal requests out.

The framer knows only where a command ends (RFC 3501 section 2.2: a line, plus
one more line after every literal) and the limits; what the command means is
the parser's job. It keeps the literal bytes inline, right after their
``{n}CRLF`` header, so the parser reads one buffer in one pass and never
re-parses after a literal arrives.

It works on any split of the input, down to one byte at a time, and emits
events in input order, so pipelined commands are answered in order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from mailsuite.limits import (
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
    "LiteralTooLarge",
    "NeedLiteral",
]

# A literal header at the very end of a line: "{12}", "{12+}" (RFC 7888) or "~{12}" (RFC 3516).
_LITERAL_AT_END: Final = re.compile(rb"~?\{(\d{1,20})(\+?)\}\Z")
# Before login only LOGIN/AUTHENTICATE need literals, and only small ones: a stranger
# must not make us buffer megabytes. The server sets ``max_literal_bytes`` to this
# until authentication succeeds, then to the configured APPEND limit.
PREAUTH_MAX_LITERAL_BYTES: Final = 64 * 1024
_TAG_CHARS: Final = re.compile(rb"[^\x00-\x20\x7f-\xff(){%*\"\\+]+")


@dataclass(frozen=True, slots=True)
class CommandBytes:
    """One complete command as sent (literals right after their ``{n}CRLF``), no last CRLF."""

    data: bytes


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
        "max_line_bytes",
        "hard_max_line_bytes",
        "max_literal_bytes",
    )

    def __init__(
        self,
        *,
        max_line_bytes: int = IMAP_MAX_LINE_BYTES,
        hard_max_line_bytes: int = IMAP_HARD_MAX_LINE_BYTES,
        max_literal_bytes: int = IMAP_MAX_LITERAL_BYTES,
    ) -> None:
        self.max_line_bytes = max_line_bytes
        self.hard_max_line_bytes = max(hard_max_line_bytes, max_line_bytes)
        self.max_literal_bytes = max_literal_bytes
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

    @property
    def in_literal(self) -> bool:
        """True while the framer is reading literal octets (not lines)."""
        return self._literal_left > 0

    @property
    def pending(self) -> bool:
        """True when part of a command has been received but not yet completed."""
        return bool(self._buf or self._parts or self._literal_left or self._discarding)

    def feed(self, data: bytes) -> list[Event]:
        """Consume ``data`` and return every event it completes, in order.

        An empty list means "need more input". After :class:`InputOverflow`
        the framer ignores all further input.
        """
        events: list[Event] = []
        if self._dead or not data:
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
                self._buf += view[pos : pos + take]
                self._literal_left -= take
                pos += take
                if not self._literal_left:
                    self._parts.append(bytes(self._buf))
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
                self._parts.clear()
                self._command_bytes = 0
                events.append(LineTooLong(self._tag_of(line), self.max_line_bytes))
                self._after_rejected_line(line)
                continue
            self._line(line, events)
        return events

    def _line(self, line: bytes, events: list[Event]) -> None:
        """Handle one complete line (CR LF stripped) of the current command."""
        m = _LITERAL_AT_END.search(line)
        if m is None:
            self._parts.append(line)
            data = b"".join(self._parts)
            self._parts = []
            self._command_bytes = 0
            events.append(CommandBytes(data))
            return
        size = int(m.group(1))
        synchronizing = not m.group(2)
        tag = self._tag_of(self._parts[0] if self._parts else line)
        if size > self.max_literal_bytes or self._command_bytes + size > self.max_literal_bytes:
            self._parts = []
            self._command_bytes = 0
            events.append(LiteralTooLarge(tag, size, self.max_literal_bytes, not synchronizing))
            if not synchronizing:
                # RFC 7888 section 4: the octets follow regardless; do not read them as commands.
                self._dead = True
            return
        # The literal's octets follow its header's CRLF directly, as on the wire.
        self._parts.append(line + b"\r\n")
        self._command_bytes += len(line)
        events.append(NeedLiteral(tag, size, synchronizing))
        self._literal_left = size

    def _start_discard(self, seen: int, events: list[Event]) -> None:
        """Begin dropping an over-long line whose end has not arrived yet."""
        first = self._parts[0] if self._parts else bytes(self._buf[:256])
        self._discard_tag = self._tag_of(first)
        self._discarding = True
        self._discarded = seen
        self._tail = bytes(self._buf[-32:])
        self._buf.clear()
        self._parts = []
        self._command_bytes = 0
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
