"""Locks shared with Dovecot and between mailsuite processes.

``DotLock`` is Dovecot's ``dovecot-uidlist.lock``: a file created with
O_EXCL next to the file it protects. The new content is written into the
lock file itself and renamed over the target (Dovecot's
``file_dotlock_replace``), so taking the lock, writing and releasing it is
one atomic step for every reader. A lock left by a crashed process is taken
over once it has not changed for ``stale_s`` seconds (Dovecot uses 2 min).

``try_flock`` is the non-blocking exclusive lock POP3 needs (RFC 1939
section 8); flock() locks belong to the open file, so they exclude other
threads of this process as well as other processes.
"""

from __future__ import annotations

import errno
import fcntl
import os
import secrets
import threading
import time
from collections.abc import Callable

from mailsuite.errors import ErrorKind, MailError

__all__ = ["DotLock", "try_flock", "fsync_dir", "atomic_write"]

DOTLOCK_STALE_S = 120.0  # MAILDIR_UIDLIST_LOCK_STALE_TIMEOUT in Dovecot
DOTLOCK_TIMEOUT_S = 122.0  # give up (TEMP) after this long, as Dovecot does


def atomic_write(path: str, data: bytes, fsync: bool = False) -> None:
    """Replace ``path`` with ``data``: a uniquely named temp file, then rename over it."""
    tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.{secrets.token_hex(4)}.tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.rename(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def fsync_dir(path: str) -> None:
    """fsync a directory so a rename or create inside it survives a crash."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class DotLock:
    """A held ``<target>.lock`` dotlock.

    Use :meth:`acquire`; then either :meth:`replace` (write new content for
    the target, which also releases the lock) or :meth:`release`.
    """

    def __init__(self, target: str, fd: int, fsync: bool) -> None:
        self.target = target
        self.path = target + ".lock"
        self._fd: int | None = fd
        self._fsync = fsync

    @classmethod
    def acquire(
        cls,
        target: str,
        *,
        fsync: bool = True,
        timeout_s: float = DOTLOCK_TIMEOUT_S,
        stale_s: float = DOTLOCK_STALE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> DotLock:
        """Wait for and take the dotlock of ``target``.

        Raises:
            MailError: TEMP when the lock could not be taken in time or the
                directory is not writable.
        """
        path = target + ".lock"
        deadline = clock() + timeout_s
        delay = 0.001
        while True:
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                return cls(target, fd, fsync)
            except FileExistsError:
                pass
            except OSError as e:
                raise MailError(
                    ErrorKind.TEMP,
                    "Internal error occurred. Refer to server log for more information.",
                    f"dotlock create({path}) failed: {e.strerror}",
                ) from None
            try:
                st = os.stat(path)
                if time.time() - st.st_mtime > stale_s:
                    # Stale: the holder died. Dovecot overrides it the same way.
                    os.unlink(path)
                    continue
            except FileNotFoundError:
                continue
            if clock() > deadline:
                raise MailError(
                    ErrorKind.TEMP,
                    "Timeout while waiting for lock",
                    f"dotlock {path}: timed out after {timeout_s:.0f}s waiting for its holder",
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    def replace(self, content: bytes) -> None:
        """Write ``content`` as the target's new content and release the lock."""
        fd = self._fd
        assert fd is not None, "dotlock already released"
        try:
            view = memoryview(content)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            if self._fsync:
                os.fsync(fd)
        except OSError:
            self.release()
            raise
        os.close(fd)
        self._fd = None
        # rename() is atomic: readers see the old or the new file, never a mix.
        os.rename(self.path, self.target)
        if self._fsync:
            fsync_dir(os.path.dirname(self.target) or ".")

    def append(self, content: bytes, expect: tuple[int, int, int]) -> bool:
        """Append ``content`` to the target in place, then release the lock.

        This is how Dovecot adds new uidlist records under its lock: one
        write at the end of the existing file and an fdatasync, instead of a
        whole new file, its fsync and a directory fsync (the file's directory
        entry does not change). Readers see the old or the longer file.

        Args:
            expect: the target's (inode, mtime ns, size) the caller's copy
                was read from; when the file is not that one any more,
                nothing is written.

        Returns:
            False (lock still held) when the target is missing or changed;
            the caller then writes the whole content with :meth:`replace`.
        """
        assert self._fd is not None, "dotlock already released"
        try:
            fd = os.open(self.target, os.O_WRONLY | os.O_APPEND)
        except FileNotFoundError:
            return False
        try:
            st = os.fstat(fd)
            if (st.st_ino, st.st_mtime_ns, st.st_size) != expect:
                return False
            # One write(): a concurrent reader never sees half a record.
            n = os.write(fd, content)
            if n != len(content):
                # A short write to a regular file means a full disk: cut the
                # partial record off again so the file stays parseable.
                os.ftruncate(fd, st.st_size)
                raise OSError(f"short write to {self.target}: {n} of {len(content)} bytes")
            if self._fsync:
                os.fdatasync(fd)
        finally:
            os.close(fd)
        self.release()
        return True

    def touch(self) -> None:
        """Keep a long-held lock from looking stale."""
        try:
            os.utime(self.path)
        except OSError:
            pass

    def release(self) -> None:
        """Drop the lock without changing the target."""
        if self._fd is None:
            return
        os.close(self._fd)
        self._fd = None
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    @property
    def held(self) -> bool:
        return self._fd is not None


def try_flock(path: str) -> Callable[[], None] | None:
    """Take an exclusive flock on ``path`` (created when missing) without waiting.

    Returns:
        A function releasing the lock, or None when someone else holds it.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        os.close(fd)
        if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return None
        raise
    released = False

    def release() -> None:
        nonlocal released
        if not released:
            released = True
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    return release
