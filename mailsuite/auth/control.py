"""Admin requests to every running server process, through one journal in the state directory.

``mailsuite auth cache flush [USER]`` appends one line (the user, or ``*``)
to ``{state_dir}/auth-cache-flush``. Each server process remembers how far
it has read that journal and, at most once a second when an auth call comes
in (no timer, no socket), applies the lines added since. Readers never
change the file, so with ``[server] workers = N`` every worker sees every
request (a consumed request file would reach only the first worker to look).

A process starts reading at the journal's end as it is when the process
starts: its cache is empty then, so older requests have nothing to drop.
Appends are serialised by ``flock`` on a lock file and are one ``write``
each; readers apply only complete lines. When the journal grows past
``COMPACT_BYTES`` the next writer replaces it (rename) by one ``*`` line:
a reader that sees a new file (another inode) reads it from the start, and
flushing everything is always a safe superset of the requests it replaced.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable

from twisted.logger import Logger

__all__ = ["FLUSH_JOURNAL", "FlushRequests", "request_flush"]

FLUSH_JOURNAL = "auth-cache-flush"
LOCK_SUFFIX = ".lock"
POLL_INTERVAL_S = 1.0
COMPACT_BYTES = 64 * 1024  # a few thousand requests; then one "flush all" replaces them
ALL_USERS = "*"

log = Logger(namespace="mailsuite.auth")


def _journal_path(state_dir: str) -> str:
    return os.path.join(state_dir, FLUSH_JOURNAL)


def request_flush(state_dir: str, user: str | None) -> str:
    """Ask every running process to flush one user's cache entries (or all).

    Returns:
        The journal's path.

    Raises:
        ValueError: the user name holds a line break (it would be two requests).
        OSError: the state directory cannot be written.
    """
    who = user or ALL_USERS
    if "\n" in who or "\r" in who:
        raise ValueError(f"auth cache flush: user name {who!r} contains a line break")
    os.makedirs(state_dir, exist_ok=True)
    path = _journal_path(state_dir)
    with open(path + LOCK_SUFFIX, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            size = os.stat(path).st_size
        except FileNotFoundError:
            size = 0
        if size >= COMPACT_BYTES:
            tmp = f"{path}.{os.getpid()}.tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(ALL_USERS + "\n")
            os.rename(tmp, path)  # atomic: readers see the old or the new journal
        else:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                os.write(fd, (who + "\n").encode("utf-8"))
            finally:
                os.close(fd)
    return path


class FlushRequests:
    """Applies flush requests appended to the journal since this process started.

    Args:
        state_dir: the server's state directory.
        flush: ``flush(user_or_None) -> count`` of the cache.
        now: the clock.
    """

    def __init__(
        self, state_dir: str, flush: Callable[[str | None], int], now: Callable[[], float]
    ) -> None:
        self.path = _journal_path(state_dir)
        self._flush = flush
        self._now = now
        self._next = 0.0
        self._inode, self._offset = self._stat()

    def _stat(self) -> tuple[int, int]:
        try:
            st = os.stat(self.path)
        except OSError:
            return 0, 0
        return st.st_ino, st.st_size

    def poll(self) -> int:
        """Apply new requests (if it is time to look); returns how many were applied."""
        t = self._now()
        if t < self._next:
            return 0
        self._next = t + POLL_INTERVAL_S
        inode, size = self._stat()
        if inode != self._inode:
            self._inode, self._offset = inode, 0  # compacted (or first created): read it all
        elif size < self._offset:
            self._offset = 0  # truncated by hand: whatever is there now is new
        if size == self._offset:
            return 0
        try:
            with open(self.path, "rb") as f:
                if os.fstat(f.fileno()).st_ino != self._inode:
                    self._inode, self._offset = os.fstat(f.fileno()).st_ino, 0
                f.seek(self._offset)
                data = f.read()
        except OSError as e:
            log.warn("auth: cannot read cache flush requests {path}: {why}", path=self.path, why=e)
            return 0
        end = data.rfind(b"\n") + 1  # a line still being written waits for the next poll
        self._offset += end
        requests = [line.decode("utf-8", "replace").strip() for line in data[:end].splitlines()]
        users = [ALL_USERS] if ALL_USERS in requests or "" in requests else requests
        for user in dict.fromkeys(users):
            n = self._flush(None if user == ALL_USERS else user)
            log.info(
                "auth: cache flush requested by admin for {who}: {n} entries dropped",
                who=user,
                n=n,
            )
        return len(requests)
