"""COMPRESS=DEFLATE streams (RFC 4978), sans-IO.

RFC 4978 section 3: after the tagged ``OK`` of COMPRESS DEFLATE both
directions are one raw DEFLATE stream each (RFC 1951, no zlib or gzip
header: ``wbits = -15``) for the rest of the connection.

* :class:`Deflater` compresses what the server writes. Section 4 asks for a
  flush whenever the server waits for the client, so nothing useful sits in
  the compressor: :meth:`Deflater.flush` (``Z_SYNC_FLUSH``) ends every
  response batch, and the client can decode all of it at once.
* :class:`Inflater` decompresses what the client sends. A few kilobytes of
  DEFLATE can expand to gigabytes (a "deflate bomb"), so it never expands
  more than ``max_bytes`` per :meth:`Inflater.read`; what is left stays
  compressed inside zlib until the caller asks again. The caller feeds the
  pieces to the IMAP framer, whose line and literal limits then apply to the
  decompressed bytes as they would without compression.

Memory per connection: about 256 KiB for the compressor at the default
``mem_level`` of 8 and 32 KiB window, 40 KiB for the decompressor; a lower
``mem_level`` trades ratio for memory on busy servers.
"""

from __future__ import annotations

import zlib
from typing import Final

__all__ = [
    "DEFAULT_LEVEL",
    "DEFAULT_MEM_LEVEL",
    "INFLATE_PIECE_BYTES",
    "CompressionError",
    "Deflater",
    "Inflater",
]

DEFAULT_LEVEL: Final = 6  # zlib's default; Dovecot's imap_zlib_compress_level is 6 too
DEFAULT_MEM_LEVEL: Final = 8
RAW_DEFLATE_WBITS: Final = -15  # RFC 4978 3: raw DEFLATE (RFC 1951), 32 KiB window
INFLATE_PIECE_BYTES: Final = 64 * 1024  # the most one read() expands


class CompressionError(ValueError):
    """The client's DEFLATE stream is corrupt, or it ended and data followed."""


class Deflater:
    """The server-to-client DEFLATE stream."""

    __slots__ = ("_z", "_flushed_at", "bytes_in", "bytes_out")

    def __init__(self, level: int = DEFAULT_LEVEL, mem_level: int = DEFAULT_MEM_LEVEL) -> None:
        self._z = zlib.compressobj(level, zlib.DEFLATED, RAW_DEFLATE_WBITS, mem_level)
        self._flushed_at = 0  # bytes_in at the last flush
        self.bytes_in = 0
        self.bytes_out = 0

    def compress(self, data: bytes) -> bytes:
        """Compress ``data``; what comes back may be empty until the next :meth:`flush`."""
        if not data:
            return b""
        self.bytes_in += len(data)
        out = self._z.compress(data)
        self.bytes_out += len(out)
        return out

    def flush(self) -> bytes:
        """Everything compressed so far, ending on a byte boundary (``Z_SYNC_FLUSH``).

        The stream stays open: more data may follow. Returns ``b""`` when
        nothing was written since the last flush, so an idle connection
        sends no empty blocks.
        """
        if self.bytes_in == self._flushed_at:
            return b""
        out = self._z.flush(zlib.Z_SYNC_FLUSH)
        self.bytes_out += len(out)
        self._flushed_at = self.bytes_in
        return out

    def write(self, data: bytes) -> bytes:
        """Compress ``data`` and flush: one complete response batch."""
        return self.compress(data) + self.flush()


class Inflater:
    """The client-to-server DEFLATE stream, expanded a bounded piece at a time.

    Usage::

        inflater.feed(chunk)
        while piece := inflater.read():
            framer.feed(piece)
    """

    __slots__ = ("_z", "_tail", "_full", "bytes_in", "bytes_out", "max_bytes")

    def __init__(self, max_bytes: int = INFLATE_PIECE_BYTES) -> None:
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        self._z = zlib.decompressobj(RAW_DEFLATE_WBITS)
        self._tail = b""  # compressed input not yet expanded
        self._full = False  # the last read hit its limit: zlib may hold more output
        self.max_bytes = max_bytes
        self.bytes_in = 0
        self.bytes_out = 0

    @property
    def pending(self) -> bool:
        """Whether compressed input is waiting to be expanded by :meth:`read`."""
        return bool(self._tail) or self._full

    def feed(self, data: bytes) -> None:
        """Queue compressed bytes from the client (nothing is expanded yet).

        Raises:
            CompressionError: the stream already ended (RFC 4978 has no way
                to stop compressing, so data after the end is an error).
        """
        if not data:
            return
        if self._z.eof:
            raise CompressionError("Data after the end of the DEFLATE stream")
        self.bytes_in += len(data)
        self._tail += data

    def read(self, max_bytes: int | None = None) -> bytes:
        """Up to ``max_bytes`` (default: the constructor's) of decompressed data.

        Returns ``b""`` when everything fed so far has been expanded (or the
        input ends mid-block and more is needed).

        Raises:
            CompressionError: the input is not valid DEFLATE data.
        """
        if not self._tail and not self._full:
            return b""
        limit = self.max_bytes if max_bytes is None else max_bytes
        try:
            out = self._z.decompress(self._tail, limit)
        except zlib.error as e:
            self._tail = b""
            raise CompressionError(f"Invalid DEFLATE data from the client: {e}") from None
        # unconsumed_tail: input held back by the output limit; unused_data: past the end.
        self._tail = self._z.unconsumed_tail
        if self._z.eof:
            if self._z.unused_data:
                self._tail = b""
                raise CompressionError("Data after the end of the DEFLATE stream")
        self._full = len(out) >= limit and not self._z.eof
        self.bytes_out += len(out)
        return out

    def read_all(self, data: bytes, limit_bytes: int) -> bytes:
        """Feed ``data`` and expand all of it, at most ``limit_bytes`` (tests, small inputs).

        Raises:
            CompressionError: corrupt input, or it expands beyond ``limit_bytes``.
        """
        self.feed(data)
        out = bytearray()
        while True:
            piece = self.read()
            if not piece:
                return bytes(out)
            out += piece
            if len(out) > limit_bytes:
                raise CompressionError(f"DEFLATE data expands beyond {limit_bytes} bytes")
