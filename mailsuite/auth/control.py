"""Admin requests to a running server's auth process, through files in the state directory.

``mailsuite auth cache flush [USER]`` writes a one-line request file into
``{state_dir}/auth-cache-flush/``; the server looks there at most once a
second, when an auth call comes in (no timer, no socket), applies each
request and removes its file. Files are written under a temporary name and
renamed, so a half-written request is never read.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable

from twisted.logger import Logger

__all__ = ["FLUSH_DIR", "FlushRequests", "request_flush"]

FLUSH_DIR = "auth-cache-flush"
POLL_INTERVAL_S = 1.0
ALL_USERS = "*"

log = Logger(namespace="mailsuite.auth")


def request_flush(state_dir: str, user: str | None) -> str:
    """Queue a flush of one user's cache entries (or all); returns the request's path."""
    directory = os.path.join(state_dir, FLUSH_DIR)
    os.makedirs(directory, exist_ok=True)
    name = f"{secrets.token_hex(8)}.req"
    tmp = os.path.join(directory, "." + name)
    with open(tmp, "w", encoding="utf-8") as f:
        f.write((user or ALL_USERS) + "\n")
    final = os.path.join(directory, name)
    os.rename(tmp, final)  # atomic within the directory
    return final


class FlushRequests:
    """Applies queued flush requests to a cache, checking the directory at most once a second.

    Args:
        state_dir: the server's state directory.
        flush: ``flush(user_or_None) -> count`` of the cache.
        now: the clock.
    """

    def __init__(
        self, state_dir: str, flush: Callable[[str | None], int], now: Callable[[], float]
    ) -> None:
        self.directory = os.path.join(state_dir, FLUSH_DIR)
        self._flush = flush
        self._now = now
        self._next = 0.0

    def poll(self) -> int:
        """Apply pending requests (if it is time to look); returns how many were applied."""
        t = self._now()
        if t < self._next:
            return 0
        self._next = t + POLL_INTERVAL_S
        try:
            names = [n for n in os.listdir(self.directory) if n.endswith(".req")]
        except OSError:
            return 0
        done = 0
        for name in sorted(names):
            path = os.path.join(self.directory, name)
            try:
                with open(path, encoding="utf-8") as f:
                    user = f.read().strip()
                os.unlink(path)
            except OSError:
                continue  # another process took it
            n = self._flush(None if user in ("", ALL_USERS) else user)
            log.info(
                "auth: cache flush requested by admin for {who}: {n} entries dropped",
                who=user or ALL_USERS,
                n=n,
            )
            done += 1
        return done
