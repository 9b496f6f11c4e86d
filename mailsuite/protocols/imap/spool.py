"""Large APPEND messages on their way in: private, nameless spool files.

The framer hands every octet of an APPEND literal larger than the memory
threshold to a :class:`SpooledLiteral` as it arrives, and the store later
reads the file back in chunks, so a 50 MB message is never held in memory.

The file is created with ``O_TMPFILE`` (Linux): it never has a name, only
this process can reach it (mode 0600 at most, under a 0700 directory), and
the kernel frees its space when the descriptor closes, even if the process
is killed. Where ``O_TMPFILE`` is not supported (some file systems), a
``mkstemp`` file (0600) is unlinked the moment it is created, which leaves
the same state. Writes are buffered page-cache writes without fsync: the
store fsyncs its own copy before it answers OK (the spool only has to
outlive the command).

No Twisted here: the server calls :meth:`SpooledLiteral.write` on the
reactor thread (cheap: a memory copy into the write buffer, a write(2) per
:data:`SPOOL_WRITE_BUFFER_BYTES`), the store reads in a pool thread.
"""

from __future__ import annotations

import errno
import io
import os
import tempfile
import time
from typing import BinaryIO, Final

from mailsuite.errors import ErrorKind, MailError
from mailsuite.limits import IMAP_APPEND_MEMORY_BYTES

__all__ = ["SPOOL_FILE_PREFIX", "SPOOL_WRITE_BUFFER_BYTES", "AppendSpool", "SpooledLiteral"]

SPOOL_WRITE_BUFFER_BYTES: Final = 256 * 1024  # one write(2) per this many octets received
SPOOL_FILE_PREFIX: Final = "append-"  # the mkstemp fallback's names (unlinked at once)
STALE_SPOOL_S: Final = 3600.0  # a named leftover older than this is from a crash
_CLIENT_TEXT: Final = "Internal error occurred. Refer to server log for more information."
# O_TMPFILE is refused with these where the file system cannot do it.
_NO_TMPFILE: Final = frozenset({errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOSYS})


class AppendSpool:
    """Where large APPEND literals go: one directory, one size threshold.

    Args:
        directory: the spool directory (``[server] state_dir``/imap-spool);
            made 0700 by :meth:`prepare`.
        memory_bytes: APPEND literals up to this size stay in memory.
    """

    def __init__(self, directory: str, memory_bytes: int = IMAP_APPEND_MEMORY_BYTES) -> None:
        self.directory = directory
        self.memory_bytes = memory_bytes

    def prepare(self, now: float | None = None) -> list[str]:
        """Blocking, at start-up: make the directory private, drop a crash's leftovers.

        Only files of the ``mkstemp`` fallback can be left (they are unlinked
        at once, so a leftover means a crash in between); young ones may
        belong to a sibling worker process and are kept.

        Returns:
            The paths removed.

        Raises:
            OSError: the directory cannot be made.
        """
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        os.chmod(self.directory, 0o700)  # messages in transit are nobody else's business
        removed: list[str] = []
        now = time.time() if now is None else now
        for name in os.listdir(self.directory):
            if not name.startswith(SPOOL_FILE_PREFIX):
                continue
            path = os.path.join(self.directory, name)
            try:
                if now - os.stat(path).st_mtime > STALE_SPOOL_S:
                    os.unlink(path)
                    removed.append(path)
            except OSError:
                continue
        return removed

    def open(self, size: int) -> SpooledLiteral:
        """A new spool for a literal of ``size`` octets; never raises (see ``SpooledLiteral``)."""
        return SpooledLiteral(self.directory, size)


class SpooledLiteral:
    """One literal's octets in a nameless temp file (a ``framer.LiteralSink``).

    A failure to create or write the file never raises into the framer: the
    rest of the literal is still consumed (the connection stays in sync) and
    :meth:`open` raises a TEMP :class:`MailError` naming the path and error,
    so the APPEND gets a NO and the admin a log line.

    Args:
        directory: where the file is created.
        size: the literal's announced size.
    """

    __slots__ = ("size", "_directory", "_file", "_written", "_error")

    def __init__(self, directory: str, size: int) -> None:
        self.size = size
        self._directory = directory
        self._file: io.BufferedRandom | None = None
        self._written = 0
        self._error: str | None = None
        try:
            fd = _create(directory)
        except OSError as e:
            self._error = f"creating a spool file in {directory} failed: {e.strerror or e}"
            return
        raw = io.FileIO(fd, "r+")
        self._file = io.BufferedRandom(raw, buffer_size=SPOOL_WRITE_BUFFER_BYTES)

    @property
    def written(self) -> int:
        """Octets received so far."""
        return self._written

    @property
    def closed(self) -> bool:
        return self._file is None

    def write(self, data: memoryview | bytes) -> None:
        """Append ``data`` (copied before returning); a failure is kept for :meth:`open`."""
        self._written += len(data)
        f = self._file
        if f is None or self._error is not None:
            return
        try:
            f.write(data)
        except (OSError, ValueError) as e:
            self._fail("writing", e)

    def finish(self) -> None:
        """All octets are in: hand the buffered tail to the kernel."""
        f = self._file
        if f is None or self._error is not None:
            return
        try:
            f.flush()
        except (OSError, ValueError) as e:
            self._fail("writing", e)

    def open(self) -> BinaryIO:
        """Blocking: the file from its first octet (the caller does not close it; we do).

        Raises:
            MailError: TEMP when the spool could not be written whole.
        """
        f = self._file
        if self._error is None and f is None:
            self._error = f"spool file in {self._directory} already closed"
        elif self._error is None and self._written != self.size:
            self._error = (
                f"spool file in {self._directory} holds {self._written} of {self.size} octets"
            )
        if self._error is not None or f is None:
            raise MailError(ErrorKind.TEMP, _CLIENT_TEXT, self._error)
        try:
            f.seek(0)  # flushes anything still buffered first
        except (OSError, ValueError) as e:
            self._fail("writing", e)
            raise MailError(ErrorKind.TEMP, _CLIENT_TEXT, self._error) from None
        return f

    def close(self) -> None:
        """Close the file; the kernel frees its space (it has no name). Idempotent."""
        f, self._file = self._file, None
        if f is None:
            return
        try:
            f.close()
        except OSError:
            pass  # a failed flush of a file nobody will read

    def _fail(self, what: str, e: Exception) -> None:
        reason = getattr(e, "strerror", None) or str(e)
        self._error = f"{what} a spool file in {self._directory} failed: {reason}"
        f, self._file = self._file, None
        if f is not None:
            try:
                f.close()
            except (OSError, ValueError):
                pass  # the buffered rest cannot be written either

    def __repr__(self) -> str:
        return f"<SpooledLiteral {self._written}/{self.size} in {self._directory}>"


def _create(directory: str) -> int:
    """A private, nameless file in ``directory``, open for reading and writing."""
    try:
        return _create_once(directory)
    except FileNotFoundError:
        # The directory went away under us (an admin cleaning up): make it again.
        os.makedirs(directory, mode=0o700, exist_ok=True)
        return _create_once(directory)


def _create_once(directory: str) -> int:
    tmpfile = getattr(os, "O_TMPFILE", 0)
    if tmpfile:
        try:
            return os.open(directory, os.O_RDWR | os.O_CLOEXEC | tmpfile, 0o600)
        except OSError as e:
            if e.errno not in _NO_TMPFILE:
                raise
    fd, path = tempfile.mkstemp(prefix=SPOOL_FILE_PREFIX, dir=directory)  # mode 0600
    try:
        os.unlink(path)
    except OSError:
        os.close(fd)
        raise
    return fd
