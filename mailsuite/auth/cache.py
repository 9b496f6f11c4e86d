"""The auth cache: passdb answers kept for a while, so logins do not all hit the database.

Like Dovecot's auth-cache: positive entries (the user's passdb entries) live
``ttl_s``, negative ones (user unknown) ``negative_ttl_s``; the table holds at
most ``max_entries`` users (least recently used dropped first). A success is
remembered only as a keyed digest of the exact password that worked, so a
cached success never lets a different password in: any other password is
verified against the stored hash, and if that fails while the cache held a
success the checker asks the passdb again uncached (the password may have
changed; Dovecot's rule). Time comes from an injected ``IReactorTime``.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from mailsuite.auth.base import Clock

__all__ = ["AuthCache", "CacheEntry"]


@dataclass
class CacheEntry:
    # Passdb entries (or one UserRecord for kind "userdb"); empty: negative (unknown user).
    entries: tuple[Any, ...]
    expires: float
    successes: dict[bytes, int] = field(default_factory=dict)  # token -> entry index

    @property
    def negative(self) -> bool:
        return not self.entries


class AuthCache:
    """A size-bounded TTL cache of passdb lookups keyed by (passdb kind, user)."""

    MAX_TOKENS_PER_USER = 4  # a user may have a few devices with an old password

    def __init__(self, clock: Clock, max_entries: int, ttl_s: float, negative_ttl_s: float) -> None:
        self.clock = clock
        self.max_entries = max_entries
        self.ttl_s = ttl_s
        self.negative_ttl_s = negative_ttl_s
        self.key = secrets.token_bytes(32)  # for password tokens; never leaves the process
        self._table: OrderedDict[tuple[str, str], CacheEntry] = OrderedDict()
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.max_entries > 0 and (self.ttl_s > 0 or self.negative_ttl_s > 0)

    def __len__(self) -> int:
        return len(self._table)

    def get(self, kind: str, user: str) -> CacheEntry | None:
        """The live entry for ``user``, or None (expired entries are dropped)."""
        key = (kind, user)
        entry = self._table.get(key)
        if entry is None:
            self.misses += 1
            return None
        if entry.expires <= self.clock.seconds():
            del self._table[key]
            self.misses += 1
            return None
        self._table.move_to_end(key)
        self.hits += 1
        return entry

    def put(self, kind: str, user: str, entries: tuple[Any, ...]) -> CacheEntry | None:
        """Remember a lookup; returns the new entry (None when caching is off for it)."""
        ttl = self.ttl_s if entries else self.negative_ttl_s
        if self.max_entries <= 0 or ttl <= 0:
            return None
        entry = CacheEntry(entries, self.clock.seconds() + ttl)
        self._table[(kind, user)] = entry
        self._table.move_to_end((kind, user))
        while len(self._table) > self.max_entries:
            self._table.popitem(last=False)
        return entry

    def remember_success(self, entry: CacheEntry, token: bytes, index: int) -> None:
        """Record that the secret with ``token`` verified against ``entry.entries[index]``."""
        entry.successes[token] = index
        while len(entry.successes) > self.MAX_TOKENS_PER_USER:
            entry.successes.pop(next(iter(entry.successes)))

    def forget(self, kind: str, user: str) -> None:
        self._table.pop((kind, user), None)

    def flush(self, user: str | None = None) -> int:
        """Drop every entry (or every entry of ``user``); returns how many were dropped."""
        if user is None:
            n = len(self._table)
            self._table.clear()
            return n
        keys = [k for k in self._table if k[1] == user]
        for k in keys:
            del self._table[k]
        return len(keys)
