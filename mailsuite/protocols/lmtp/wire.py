"""LMTP on the wire, sans-IO: command line framing, DATA and BDAT bodies, replies.

Nothing here reads a socket or imports Twisted. :class:`LmtpDecoder` is fed
whatever bytes arrived and is *pulled* for events one at a time, so the
caller decides, between two events, whether the bytes that follow are a
command, a DATA body or a BDAT chunk: that depends on the answer to the
previous command (RFC 2920 section 3.1: a client may pipeline the commands up
to DATA/BDAT, so the same bytes mean different things in different states).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from mailsuite.limits import LMTP_MAX_LINE_BYTES

__all__ = [
    "CommandLine",
    "DataChunk",
    "DataEnd",
    "DotUnstuffer",
    "Event",
    "LineTooLong",
    "LmtpDecoder",
    "Reply",
]

CRLF: Final = b"\r\n"
# Bytes handed to the caller at once in DATA/BDAT mode; bounds memory per event.
MAX_CHUNK_BYTES: Final = 256 * 1024


@dataclass(frozen=True, slots=True)
class Reply:
    """One SMTP/LMTP reply (RFC 5321 section 4.2), possibly multi-line.

    ``enhanced`` is the RFC 3463 status code ("2.1.5"); RFC 2034 section 3 puts
    it after the basic code on every line. The greeting and the LHLO answer
    carry none (RFC 2034 section 3 exempts them).
    """

    code: int
    enhanced: str | None
    lines: tuple[str, ...]

    @classmethod
    def of(cls, code: int, enhanced: str | None, *lines: str) -> Reply:
        return cls(code, enhanced, lines or ("",))

    @property
    def text(self) -> str:
        return " ".join(self.lines)

    @property
    def positive(self) -> bool:
        return self.code < 400

    def encode(self) -> bytes:
        """The reply as CRLF-terminated lines, ``250-`` on all but the last."""
        out = []
        last = len(self.lines) - 1
        for i, line in enumerate(self.lines):
            sep = " " if i == last else "-"
            text = f"{self.enhanced} {line}" if self.enhanced else line
            out.append(f"{self.code}{sep}{text}".rstrip(" ").encode("utf-8", "replace") + CRLF)
        return b"".join(out)


@dataclass(frozen=True, slots=True)
class CommandLine:
    """A command line without its line end."""

    line: bytes


@dataclass(frozen=True, slots=True)
class LineTooLong:
    """A command line exceeded the limit; it has been (or will be) discarded whole."""


@dataclass(frozen=True, slots=True)
class DataChunk:
    """Message bytes: dot-unstuffed for DATA, as sent for BDAT."""

    data: bytes


@dataclass(frozen=True, slots=True)
class DataEnd:
    """The end of a DATA body (the lone dot) or of one BDAT chunk."""


Event = CommandLine | LineTooLong | DataChunk | DataEnd


class DotUnstuffer:
    """Streams a DATA body: removes dot-stuffing and finds the end marker.

    RFC 5321 section 4.5.2: a line starting with "." has that dot removed;
    a line that is exactly "." ends the body. The transform is resumable at
    any byte boundary and copies no line one by one: it only looks at the
    places where "\\r\\n." occurs.
    """

    __slots__ = ("_line_start", "done")

    def __init__(self) -> None:
        # The body starts at the beginning of a line, right after "354".
        self._line_start = True
        self.done = False

    def feed(self, buf: bytes | bytearray, limit: int = MAX_CHUNK_BYTES) -> tuple[bytes, int]:
        """Transform a prefix of ``buf``.

        Args:
            buf: bytes received and not yet consumed.
            limit: roughly the most input bytes to consume in one call.

        Returns:
            ``(output, consumed)``: the unstuffed bytes and how many input bytes
            they used. After the end marker ``done`` is true and ``consumed``
            includes the marker; bytes after it are the next command.
        """
        out: list[bytes] = []
        pos = 0
        end = min(len(buf), limit)
        while pos < end:
            if self._line_start:
                if buf[pos : pos + 1] == b".":
                    tail = bytes(buf[pos : pos + 3])
                    if tail == b".\r\n":
                        self.done = True
                        return b"".join(out), pos + 3
                    if len(tail) < 3 and b".\r\n".startswith(tail):
                        break  # ".", ".\r": cannot tell yet
                    pos += 1  # a stuffed dot: drop it
                self._line_start = False
                if pos >= end:
                    break
            idx = buf.find(b"\r\n.", pos, end)
            if idx == -1:
                stop = end
                if buf[stop - 2 : stop] == CRLF and stop - 2 >= pos:
                    self._line_start = True
                elif buf[stop - 1 : stop] == b"\r":
                    stop -= 1  # may be the start of "\r\n."; decide with more data
                out.append(bytes(buf[pos:stop]))
                pos = stop
                break
            out.append(bytes(buf[pos : idx + 2]))
            pos = idx + 2
            self._line_start = True
        return b"".join(out), pos


class LmtpDecoder:
    """Turns received bytes into events; the caller sets the mode between events.

    Args:
        max_line_bytes: longest command line accepted, line end included
            (RFC 5321 section 4.5.3.1.4 says 512; we allow more for long
            parameter lists).
    """

    def __init__(self, max_line_bytes: int = LMTP_MAX_LINE_BYTES) -> None:
        self._buf = bytearray()
        self._max_line = max_line_bytes
        self._discarding = False  # inside an overlong line, waiting for its end
        self._dots: DotUnstuffer | None = None  # DATA mode
        self._bdat_left: int | None = None  # BDAT mode: bytes of the chunk still due

    @property
    def buffered(self) -> int:
        """Bytes received but not yet turned into events."""
        return len(self._buf)

    @property
    def in_body(self) -> bool:
        return self._dots is not None or self._bdat_left is not None

    def feed(self, data: bytes) -> None:
        self._buf += data

    def start_data(self) -> None:
        """Read a dot-terminated body next (after a 354 reply to DATA)."""
        self._dots = DotUnstuffer()

    def start_bdat(self, size: int) -> None:
        """Read exactly ``size`` raw bytes next (RFC 3030 section 2: no stuffing)."""
        self._bdat_left = size

    def next_event(self) -> Event | None:
        """The next event, or None when more bytes are needed."""
        if self._dots is not None:
            return self._next_data(self._dots)
        if self._bdat_left is not None:
            return self._next_bdat(self._bdat_left)
        return self._next_line()

    def _next_data(self, dots: DotUnstuffer) -> Event | None:
        if dots.done:
            self._dots = None
            return DataEnd()
        while self._buf:
            out, used = dots.feed(self._buf)
            del self._buf[:used]
            if out:
                return DataChunk(out)  # when done, DataEnd comes at the next pull
            if dots.done:
                self._dots = None
                return DataEnd()
            if used == 0:
                return None
        return None

    def _next_bdat(self, left: int) -> Event | None:
        if left == 0:
            self._bdat_left = None
            return DataEnd()
        if not self._buf:
            return None
        n = min(left, len(self._buf), MAX_CHUNK_BYTES)
        chunk = bytes(self._buf[:n])
        del self._buf[:n]
        self._bdat_left = left - n
        return DataChunk(chunk)

    def _next_line(self) -> Event | None:
        while True:
            idx = self._buf.find(b"\n")
            if self._discarding:
                if idx == -1:
                    self._buf.clear()
                    return None
                del self._buf[: idx + 1]
                self._discarding = False
                continue
            if idx == -1:
                if len(self._buf) > self._max_line:
                    self._buf.clear()
                    self._discarding = True
                    return LineTooLong()
                return None
            if idx + 1 > self._max_line:
                del self._buf[: idx + 1]
                return LineTooLong()
            line = bytes(self._buf[:idx])
            del self._buf[: idx + 1]
            # RFC 5321 says CRLF; a bare LF is accepted the way Postfix and Dovecot do.
            if line.endswith(b"\r"):
                line = line[:-1]
            return CommandLine(line)
