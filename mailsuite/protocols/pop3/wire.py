"""POP3 on the wire, without I/O: line framing, replies, and the message body encoding.

Nothing here reads a socket or imports Twisted. The server feeds received bytes
to :class:`LineBuffer` and writes what the reply objects encode to; RETR and TOP
bodies pass through :class:`MessageEncoder`, which turns a stored message (line
ends may be bare LF) into the exact bytes RFC 1939 section 3 asks for.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Final

from mailsuite import limits
from mailsuite.util.crlf import CrlfStream

__all__ = [
    "CRLF",
    "Continue",
    "LineBuffer",
    "LineTooLong",
    "MessageEncoder",
    "MultiLine",
    "Status",
    "decode_base64",
    "encode_base64",
    "encode_multiline",
]

CRLF: Final = b"\r\n"
TERMINATOR: Final = b".\r\n"


@dataclass(frozen=True, slots=True)
class LineTooLong:
    """A line longer than the limit arrived; it was discarded up to its line end."""

    limit_bytes: int


class LineBuffer:
    """Splits a byte stream into lines, enforcing a length limit.

    A line ends with LF; a CR before it is removed (clients that send bare LF
    are accepted, as Dovecot does). A line over ``max_bytes`` is discarded up to
    its end and reported once as :class:`LineTooLong`, so one bad line costs the
    client one ``-ERR`` and never the server unbounded memory.

    Args:
        max_bytes: the longest line accepted, without its CRLF.
    """

    def __init__(self, max_bytes: int = limits.POP3_MAX_SASL_LINE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._buf = bytearray()
        self._discarding = False

    def feed(self, data: bytes) -> list[bytes | LineTooLong]:
        """Add received bytes; return every complete line (without CRLF) or overflow event."""
        out: list[bytes | LineTooLong] = []
        self._buf += data
        start = 0
        buf = self._buf
        while True:
            end = buf.find(b"\n", start)
            if end < 0:
                break
            if self._discarding:
                self._discarding = False
            else:
                line = bytes(buf[start:end])
                if line.endswith(b"\r"):
                    line = line[:-1]
                if len(line) > self.max_bytes:
                    out.append(LineTooLong(self.max_bytes))
                else:
                    out.append(line)
            start = end + 1
        del buf[:start]
        if len(buf) > self.max_bytes + 1:  # +1: a CR may still be followed by LF
            del buf[:]
            if not self._discarding:
                self._discarding = True
                out.append(LineTooLong(self.max_bytes))
        return out

    def clear(self) -> None:
        """Forget buffered input (after STLS: RFC 2595 section 4, no plaintext carried over)."""
        del self._buf[:]
        self._discarding = False

    @property
    def pending_bytes(self) -> int:
        return len(self._buf)


def _status_line(ok: bool, text: str, code: str | None) -> bytes:
    # RFC 2449 section 8: the response code comes first, in brackets, after the status.
    parts = ["+OK" if ok else "-ERR"]
    if code:
        parts.append(f"[{code}]")
    if text:
        parts.append(text)
    # Texts come from our own code, but user input (a mailbox name, a mechanism)
    # may be quoted in them: never let a CR or LF split the reply.
    line = " ".join(parts).replace("\r", " ").replace("\n", " ")
    return line.encode("utf-8", "replace") + CRLF


@dataclass(frozen=True, slots=True)
class Status:
    """A one-line reply: ``+OK text`` or ``-ERR [CODE] text``."""

    ok: bool
    text: str = ""
    code: str | None = None  # RFC 2449 / RFC 3206 response code, e.g. "IN-USE"

    def encode(self) -> bytes:
        return _status_line(self.ok, self.text, self.code)


@dataclass(frozen=True, slots=True)
class MultiLine:
    """A ``+OK`` line followed by lines and the ``.`` terminator (RFC 1939 section 3)."""

    status: Status
    lines: tuple[bytes, ...] = ()

    def encode(self) -> bytes:
        return self.status.encode() + encode_multiline(self.lines)


@dataclass(frozen=True, slots=True)
class Continue:
    """A SASL server challenge: ``+ base64`` (RFC 5034 section 4)."""

    data: bytes = b""

    def encode(self) -> bytes:
        return b"+ " + encode_base64(self.data) + CRLF


def encode_multiline(lines: tuple[bytes, ...] | list[bytes]) -> bytes:
    """Dot-stuff short lines (no CR/LF inside) and add the terminator."""
    out = bytearray()
    for line in lines:
        if line.startswith(b"."):
            out += b"."
        out += line
        out += CRLF
    out += TERMINATOR
    return bytes(out)


def encode_base64(data: bytes) -> bytes:
    return base64.b64encode(data)


def decode_base64(data: bytes) -> bytes | None:
    """Strictly decode a SASL response; None when it is not valid base64."""
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None


class MessageEncoder:
    """Turns a stored message into the bytes RETR or TOP sends, chunk by chunk.

    Three steps, each carrying state across chunk boundaries so that any
    chunking gives the same output:

    1. bare LF becomes CRLF (a bare CR stays as it is, as in Dovecot), so the
       byte count equals the message's RFC822 size that STAT and LIST report;
    2. for TOP, everything after the header, the blank line and ``top_lines``
       body lines is dropped (RFC 1939 section 7);
    3. a line starting with "." gets another "." (byte-stuffing, RFC 1939
       section 3), and :meth:`finish` ends the last line and adds ".CRLF".

    Args:
        top_lines: None for RETR; the number of body lines for TOP.
    """

    def __init__(self, top_lines: int | None = None) -> None:
        self._top_lines = top_lines
        self._crlf = CrlfStream()  # step 1: holds a CR whose LF may be in the next chunk
        self._in_header = True  # step 2
        self._line_empty = True  # step 2: nothing of the current line seen yet
        self._lines_left = top_lines if top_lines is not None else 0
        self._at_line_start = True  # step 3
        self.complete = False  # TOP has all it needs: reading more is pointless
        self.body_bytes = 0  # bytes before stuffing: equals the RFC822 size for RETR

    def feed(self, data: bytes) -> bytes:
        """Encode the next piece of the stored message."""
        if self.complete or not data:
            return b""
        data = self._crlf.feed(data)
        if self._top_lines is not None:
            data = self._cut_top(data)
        return self._stuff(data)

    def finish(self) -> bytes:
        """Flush what is held, end the last line and add the terminator."""
        out = b""
        tail = self._crlf.finish()
        if tail and not self.complete:
            if self._top_lines is not None:
                tail = self._cut_top(tail)
            out = self._stuff(tail)
        if not self._at_line_start:
            # The message did not end with a line end: end the line for the
            # terminator; this CRLF is framing, not message content.
            out += CRLF
        self.complete = True
        return out + TERMINATOR

    def _stuff(self, data: bytes) -> bytes:
        if not data:
            return data
        self.body_bytes += len(data)
        if self._at_line_start and data[:1] == b".":
            data = b"." + data
        self._at_line_start = data.endswith(b"\n")
        return data.replace(b"\n.", b"\n..")

    def _cut_top(self, data: bytes) -> bytes:
        """Keep the header, the blank line and the first ``top_lines`` body lines."""
        if self.complete:
            return b""
        pos = 0
        n = len(data)
        while pos < n:
            if not self._in_header and self._lines_left <= 0:
                self.complete = True
                return data[:pos]
            end = data.find(b"\n", pos)
            if end < 0:
                self._line_empty = False
                return data
            line_is_empty = self._line_empty and end - pos == 1 and data[pos] == 0x0D
            self._line_empty = True
            if self._in_header:
                if line_is_empty:
                    self._in_header = False
            else:
                self._lines_left -= 1
            pos = end + 1
        if not self._in_header and self._lines_left <= 0:
            self.complete = True
        return data
