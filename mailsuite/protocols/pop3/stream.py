"""One RETR or TOP body, read from the message file in chunks (blocking; no Twisted).

The server calls :meth:`MessageStream.next_chunk` through ``run_blocking`` so
disk reads never happen on the reactor thread, and writes each chunk before
asking for the next: memory stays at one chunk per session whatever the
message size.
"""

from __future__ import annotations

from typing import BinaryIO

from mailsuite import limits
from mailsuite.protocols.pop3.wire import MessageEncoder

__all__ = ["MessageStream"]


class MessageStream:
    """Streams one stored message as RETR/TOP bytes, terminator included.

    Args:
        file: the message file, opened for reading (closed by this object).
        top_lines: None for RETR, else the TOP line count.
        chunk_bytes: how much to read at a time.
    """

    def __init__(
        self,
        file: BinaryIO,
        top_lines: int | None = None,
        chunk_bytes: int = limits.POP3_RETR_CHUNK_BYTES,
    ) -> None:
        self._file: BinaryIO | None = file
        self._encoder = MessageEncoder(top_lines)
        self._chunk_bytes = chunk_bytes
        self.done = False
        self._prefetched = b""

    @property
    def body_bytes(self) -> int:
        """Message bytes produced so far, before byte-stuffing."""
        return self._encoder.body_bytes

    def prefetch(self) -> None:
        """Read the first chunk now (blocking), so opening and reading share one thread hop."""
        if not self._prefetched and not self.done:
            self._prefetched = self._read()

    def next_chunk(self) -> bytes:
        """Read and encode the next piece (blocking); the last one ends with ".CRLF".

        Raises:
            OSError: the file could not be read; the stream is closed.
        """
        if self._prefetched:
            out, self._prefetched = self._prefetched, b""
            return out
        return self._read()

    def take_prefetched(self) -> bytes:
        """The chunk :meth:`prefetch` read (non-blocking), or b""."""
        out, self._prefetched = self._prefetched, b""
        return out

    def _read(self) -> bytes:
        if self.done or self._file is None:
            return b""
        file, size, encoder = self._file, self._chunk_bytes, self._encoder
        out = b""
        try:
            data = file.read(size)
            while True:
                if not data or encoder.complete:
                    out += encoder.finish()
                    self._finish()
                    break
                out += encoder.feed(data)
                if encoder.complete:
                    continue  # TOP has its lines: finish on the next turn
                if len(data) < size:
                    # A short read from a regular file is nearly always the
                    # end: confirm it now, so a small message needs one call.
                    data = file.read(size)
                    continue
                if out:
                    break  # TOP may drop whole chunks: read until there is output
                data = file.read(size)
        except BaseException:
            self.close()
            raise
        return out

    def read_all(self) -> bytes:
        """Every remaining chunk at once (tests and small messages)."""
        parts = [self.take_prefetched()]
        while not self.done:
            parts.append(self.next_chunk())
        return b"".join(parts)

    def _finish(self) -> None:
        self.done = True
        self.close()

    def close(self) -> None:
        """Close the file; safe to call more than once (a dropped connection)."""
        f, self._file = self._file, None
        if f is not None:
            f.close()
