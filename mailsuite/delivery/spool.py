"""A message body on its way in: kept in memory while small, in a temp file when large.

LMTP and ``mailsuite deliver`` write the body here once; every recipient's
delivery then reads it through its own :meth:`Spool.open` handle (several
deliveries run in parallel threads), so a 50 MB message is never held whole
in memory and is read, not copied, per recipient.

With ``background_writes`` (LMTP), :meth:`Spool.write` never touches the disk:
bytes beyond the memory limit wait in a queue until :meth:`Spool.flush` (or
:meth:`Spool.finish`) writes them from a pool thread, so the reactor thread
never blocks on a file write. The caller bounds the queue (the LMTP session
stops reading the socket while it is long).
"""

from __future__ import annotations

import io
import os
import tempfile
import threading
from typing import BinaryIO

from mailsuite.limits import LMTP_SPOOL_MEMORY_BYTES

__all__ = ["PrefixedReader", "Spool"]


class Spool:
    """Write-once message storage.

    Args:
        directory: where a large body's temp file goes (None: the system default).
        memory_bytes: bodies up to this size stay in memory.
        background_writes: ``write`` only queues bytes beyond the memory limit;
            ``flush``/``finish`` (blocking, in a pool thread) write them.
    """

    def __init__(
        self,
        directory: str | None = None,
        memory_bytes: int = LMTP_SPOOL_MEMORY_BYTES,
        *,
        background_writes: bool = False,
    ):
        self._dir = directory
        self._memory_limit = memory_bytes
        self._background = background_writes
        self._mem: bytearray | None = bytearray()
        self._frozen: bytes | None = None
        self._file: BinaryIO | None = None
        self._path: str | None = None
        self._size = 0
        self._finished = False
        self._closed = False
        self._queue: list[bytes] = []  # background mode: bytes not yet in the file
        self._queued = 0
        self._lock = threading.Lock()  # guards the queue (held briefly, never over I/O)
        self._io_lock = threading.Lock()  # one writer of the file at a time, in order
        self._error: OSError | None = None  # a failed background write spoils the body

    @property
    def size(self) -> int:
        return self._size

    @property
    def path(self) -> str | None:
        """The temp file, when the body went to disk."""
        return self._path

    @property
    def on_disk(self) -> bool:
        """The body outgrew memory: finishing it writes (blocking)."""
        return self._mem is None

    @property
    def queued_bytes(self) -> int:
        """Background mode: bytes written but not yet in the file."""
        return self._queued

    def write(self, data: bytes) -> None:
        if self._finished:
            raise ValueError("spool already finished")
        self._size += len(data)
        if self._mem is not None:
            if len(self._mem) + len(data) <= self._memory_limit:
                self._mem += data
                return
            first, self._mem = bytes(self._mem), None
            if self._background:
                with self._lock:
                    self._queue.append(first)
                    self._queued += len(first)
            else:
                self._open_file().write(first)
        if self._background:
            with self._lock:
                self._queue.append(data)
                self._queued += len(data)
            return
        assert self._file is not None
        self._file.write(data)

    def _open_file(self) -> BinaryIO:
        if self._file is None:
            fd, self._path = tempfile.mkstemp(prefix="mailsuite-spool-", dir=self._dir)
            self._file = os.fdopen(fd, "wb", buffering=256 * 1024)
        return self._file

    def flush(self) -> None:
        """Write the queued bytes to the temp file (blocking; background mode).

        Raises:
            OSError: the temp file cannot be made or written (the disk is full).
            ValueError: the spool was closed meanwhile.
        """
        with self._io_lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        if self._error is not None:
            # Bytes were lost with the failed write: the body can never be whole again.
            raise self._error
        with self._lock:
            chunks, self._queue = self._queue, []
        if not chunks:
            return
        if self._closed:
            raise ValueError("spool already closed")
        try:
            f = self._open_file()
            for chunk in chunks:
                f.write(chunk)
        except OSError as e:
            self._error = e
            raise
        finally:
            with self._lock:
                self._queued = max(0, self._queued - sum(len(c) for c in chunks))

    def finish(self) -> None:
        """No more writes; the body may now be read. Not fsynced: the Maildir copy is.

        Blocking when the body went to disk (:attr:`on_disk`): the rest of the
        queue is written and the file closed.
        """
        if self._finished:
            return
        with self._io_lock:
            self._flush_locked()
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
        with self._lock:
            self._queue, self._queued = [], 0
        self._closed = True
        if self._file is not None:
            # Not while a pool thread is writing to it: it finishes its chunk first.
            with self._io_lock:
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
