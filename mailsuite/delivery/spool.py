"""A message body on its way in: kept in memory while small, in a temp file when large.

LMTP and ``mailsuite deliver`` write the body here once; every recipient's
delivery then reads it through its own :meth:`Spool.open` handle (several
deliveries run in parallel threads), so a 50 MB message is never held whole
in memory and is read, not copied, per recipient.
"""

from __future__ import annotations

import io
import os
import tempfile
from typing import BinaryIO

from mailsuite.limits import LMTP_SPOOL_MEMORY_BYTES

__all__ = ["PrefixedReader", "Spool"]


class Spool:
    """Write-once message storage.

    Args:
        directory: where a large body's temp file goes (None: the system default).
        memory_bytes: bodies up to this size stay in memory.
    """

    def __init__(self, directory: str | None = None, memory_bytes: int = LMTP_SPOOL_MEMORY_BYTES):
        self._dir = directory
        self._memory_limit = memory_bytes
        self._mem: bytearray | None = bytearray()
        self._frozen: bytes | None = None
        self._file: BinaryIO | None = None
        self._path: str | None = None
        self._size = 0
        self._finished = False
        self._closed = False

    @property
    def size(self) -> int:
        return self._size

    @property
    def path(self) -> str | None:
        """The temp file, when the body went to disk."""
        return self._path

    def write(self, data: bytes) -> None:
        if self._finished:
            raise ValueError("spool already finished")
        self._size += len(data)
        if self._mem is not None:
            if len(self._mem) + len(data) <= self._memory_limit:
                self._mem += data
                return
            fd, self._path = tempfile.mkstemp(prefix="mailsuite-spool-", dir=self._dir)
            self._file = os.fdopen(fd, "wb", buffering=256 * 1024)
            self._file.write(self._mem)
            self._mem = None
        assert self._file is not None
        self._file.write(data)

    def finish(self) -> None:
        """No more writes; the body may now be read. Not fsynced: the Maildir copy is."""
        if self._finished:
            return
        self._finished = True
        if self._file is not None:
            self._file.close()
            self._file = None
        elif self._mem is not None:
            self._frozen = bytes(self._mem)
            self._mem = None

    def open(self) -> BinaryIO:
        """A new reader positioned at the start of the body."""
        if not self._finished:
            raise ValueError("spool not finished")
        if self._closed:
            raise ValueError("spool already closed")
        if self._path is not None:
            return open(self._path, "rb")  # noqa: SIM115 - the caller closes it
        return io.BytesIO(self._frozen or b"")

    def in_memory(self) -> bytes | None:
        """The whole body when it is small enough to be held in memory, else None."""
        if not self._finished or self._closed:
            raise ValueError("spool not readable")
        return self._frozen if self._path is None else None

    def read_head(self, limit: int = 64 * 1024) -> bytes:
        """The first ``limit`` bytes (enough for most header blocks)."""
        with self.open() as f:
            return f.read(limit)

    def close(self) -> None:
        """Drop the body and remove the temp file."""
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._path is not None:
            try:
                os.unlink(self._path)
            except FileNotFoundError:
                pass
            self._path = None
        self._mem = None
        self._frozen = None
        self._finished = True
        self._closed = True

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @classmethod
    def from_stream(
        cls, stream: BinaryIO, directory: str | None = None, chunk_bytes: int = 256 * 1024
    ) -> Spool:
        """Spool everything ``stream`` yields (``mailsuite deliver`` reads stdin this way)."""
        spool = cls(directory)
        while True:
            data = stream.read(chunk_bytes)
            if not data:
                break
            spool.write(data)
        spool.finish()
        return spool


class PrefixedReader(io.RawIOBase):
    """Reads ``prefix`` then ``body``: the delivered copy with its added header lines.

    Lets the store stream each recipient's copy straight from the spool, so
    adding Return-Path and Delivered-To never copies the message.
    """

    def __init__(self, prefix: bytes, body: BinaryIO) -> None:
        super().__init__()
        self._prefix = memoryview(prefix)
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        if self._prefix:
            n = min(len(view), len(self._prefix))
            view[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        data = self._body.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        try:
            self._body.close()
        finally:
            super().close()
