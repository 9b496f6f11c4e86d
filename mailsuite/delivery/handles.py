"""Stores and mailbox handles kept open between deliveries to the same user.

An MTA delivers in bursts to the same few users (a list post to many local
recipients, a busy inbox), and opening a user's store and mailbox costs more
CPU than writing a 4 KB message: the mailbox is synced with the disk on
open, and the last handle's close puts its index away. :class:`HandleCache`
keeps them open for a few idle seconds, as Dovecot's LMTP keeps a user's
storage for the length of a transaction, and hands each handle to one
delivery at a time.

Keeping a handle open loses nothing: every append re-reads the UID list
under its lock (other processes, other sessions and the CLI may change the
mailbox at any time). Only INBOX handles are kept: INBOX cannot be deleted or
renamed away, while another folder can be deleted and made anew under the
same name (even the same inode numbers), which an idle handle could not
tell. An INBOX whose directory is gone (the user's Maildir removed) is not
reused, and its user's store is opened again. A handle whose append failed is
never reused. A changed userdb record (another mail path, another quota) is
another cache key, so it never meets a store opened for the old one.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from mailsuite.auth.interfaces import UserRecord
from mailsuite.errors import ErrorKind, MailError
from mailsuite.store.api import INBOX, Mailbox, MailStore

__all__ = [
    "DirectOpener",
    "HandleCache",
    "MailboxOpener",
    "UserHandles",
    "record_key",
]

IDLE_S = 3.0  # how long an unused user's store and handles stay open
# Users with open handles; the least recently used go first. Kept small: an open
# INBOX keeps its index records in memory outside the store's own idle-cache limits.
MAX_USERS = 32
MAX_HANDLES_PER_MAILBOX = 4  # concurrent deliveries into one mailbox keep this many


class MailboxOpener(Protocol):
    """How :func:`mailsuite.delivery.deliver` gets a mailbox handle and gives it back."""

    def open_mailbox(self, name: str) -> Mailbox:
        """A writable handle on ``name`` for this delivery alone.

        Raises:
            MailError: NOT_FOUND when the mailbox does not exist, as ``MailStore.open_mailbox``.
        """
        ...

    def release(self, box: Mailbox, *, reusable: bool) -> None:
        """Give ``box`` back; ``reusable`` is false after a failed append."""
        ...


class DirectOpener:
    """Opens a new handle for every copy and closes it afterwards (the CLI, tests)."""

    def __init__(self, store: MailStore) -> None:
        self._store = store

    def open_mailbox(self, name: str) -> Mailbox:
        return self._store.open_mailbox(name)

    def release(self, box: Mailbox, *, reusable: bool) -> None:
        box.close()


def record_key(record: UserRecord) -> tuple[object, ...]:
    """Everything in a userdb record that shapes the opened store."""
    return (
        record.username,
        record.home,
        record.mail,
        record.uid,
        record.gid,
        record.quota_storage_bytes,
        record.quota_messages,
        tuple(sorted(record.fields.items())),
    )


def _mailbox_key(name: str) -> str:
    # RFC 3501 5.1: INBOX is case-insensitive; every other name is as given.
    return INBOX if name.upper() == INBOX else name


def _identity(box: Mailbox) -> tuple[int, int] | None:
    """The mailbox directory's (device, inode), or None when it is gone."""
    try:
        st = os.stat(os.path.join(box.key, "tmp"))
    except OSError:
        return None
    return st.st_dev, st.st_ino


@dataclass
class _Entry:
    store: MailStore
    # Idle handles per mailbox, each with its directory's identity when given back.
    idle: dict[str, list[tuple[Mailbox, tuple[int, int]]]] = field(default_factory=dict)
    leases: int = 0
    last_used: float = 0.0
    evicted: bool = False  # no longer cached: handles given back are closed

    def drain(self) -> list[Mailbox]:
        """Take every idle handle out (under the cache's lock)."""
        boxes = [box for handles in self.idle.values() for box, _ in handles]
        self.idle.clear()
        return boxes


class UserHandles:
    """One delivery's lease on a user's store; a :class:`MailboxOpener`.

    Get it from :meth:`HandleCache.lease` and call :meth:`close` when the
    delivery is done (or use it as a context manager).
    """

    def __init__(
        self, cache: HandleCache, record: UserRecord, key: tuple[object, ...], entry: _Entry
    ) -> None:
        self._cache = cache
        self._record = record
        self._key = key
        self._entry = entry
        self._closed = False
        # The directory identity each handed-out handle was opened on.
        self._idents: dict[int, tuple[int, int] | None] = {}

    @property
    def store(self) -> MailStore:
        return self._entry.store

    def open_mailbox(self, name: str) -> Mailbox:
        key = _mailbox_key(name)
        ident: tuple[int, int] | None
        found = self._cache._take(self._entry, key) if key == INBOX else None
        if found is not None:
            box, ident = found
        else:
            try:
                box = self._entry.store.open_mailbox(name)
            except MailError as e:
                if e.kind is not ErrorKind.NOT_FOUND or key != INBOX:
                    raise
                # No INBOX: the Maildir went away under the kept store. A fresh
                # store makes it again (as the first delivery to a user does).
                self._entry = self._cache._reopen(self._record, self._key, self._entry)
                box = self._entry.store.open_mailbox(name)
            ident = _identity(box)
        self._idents[id(box)] = ident
        return box

    def release(self, box: Mailbox, *, reusable: bool) -> None:
        ident = self._idents.pop(id(box), None)
        if (
            not reusable
            or ident is None
            or _mailbox_key(box.name) != INBOX
            or not self._cache._give(self._entry, INBOX, box, ident)
        ):
            box.close()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._cache._end_lease(self._key, self._entry)

    def __enter__(self) -> UserHandles:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class HandleCache:
    """Per-user stores and idle mailbox handles, shared by the delivery threads.

    Args:
        open_store: opens a user's store (blocking).
        idle_s: an unused user's store and handles are closed after this long
            (by :meth:`sweep`, or by the next lease after it).
        max_users: users kept at most; beyond it the least recently used idle
            user is closed.
        clock: monotonic seconds (injected for tests).
    """

    def __init__(
        self,
        open_store: Callable[[UserRecord], MailStore],
        *,
        idle_s: float = IDLE_S,
        max_users: int = MAX_USERS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._open_store = open_store
        self._idle_s = idle_s
        self._max_users = max_users
        self._clock = clock
        self._lock = threading.Lock()
        self._users: OrderedDict[tuple[object, ...], _Entry] = OrderedDict()
        self._last_sweep = clock()

    def __len__(self) -> int:
        """Users whose store is open."""
        with self._lock:
            return len(self._users)

    def idle_handles(self) -> int:
        """Mailbox handles open and waiting for a delivery."""
        with self._lock:
            return sum(len(v) for e in self._users.values() for v in e.idle.values())

    def lease(self, record: UserRecord) -> UserHandles:
        """The user's store, opened now or kept from an earlier delivery.

        Raises:
            MailError: when the store cannot be opened.
        """
        key = record_key(record)
        with self._lock:
            entry = self._users.get(key)
            if entry is not None:
                entry.leases += 1
                self._users.move_to_end(key)
        if entry is None:
            # Opened outside the lock: it touches the disk. Two threads may both
            # open the same user's store; the second one's becomes the cached one.
            entry = _Entry(self._open_store(record), leases=1)
            with self._lock:
                old = self._users.get(key)
                if old is not None:
                    old.leases += 1
                    entry = old
                else:
                    self._users[key] = entry
        # A full sweep now and then, not on every delivery: it looks at every user.
        if len(self._users) > self._max_users or self._clock() - self._last_sweep >= 1.0:
            self.sweep()
        return UserHandles(self, record, key, entry)

    def _reopen(self, record: UserRecord, key: tuple[object, ...], old: _Entry) -> _Entry:
        """Replace a user's kept store with a newly opened one (its Maildir was removed)."""
        store = self._open_store(record)
        boxes: list[Mailbox] = []
        with self._lock:
            old.leases -= 1
            if not old.evicted:
                old.evicted = True
                boxes = old.drain()
                if self._users.get(key) is old:
                    del self._users[key]
            entry = self._users.get(key)
            if entry is None:
                entry = self._users[key] = _Entry(store)
            entry.leases += 1
        _close_all(boxes)
        return entry

    def _take(self, entry: _Entry, name: str) -> tuple[Mailbox, tuple[int, int]] | None:
        while True:
            with self._lock:
                handles = entry.idle.get(name)
                if not handles:
                    return None
                box, ident = handles.pop()
            # Deleted, renamed, or deleted and made anew: that is another mailbox now.
            if _identity(box) == ident:
                return box, ident
            box.close()

    def _give(self, entry: _Entry, name: str, box: Mailbox, ident: tuple[int, int]) -> bool:
        with self._lock:
            if entry.evicted:
                return False  # the user was closed meanwhile: close the handle too
            handles = entry.idle.setdefault(name, [])
            if len(handles) >= MAX_HANDLES_PER_MAILBOX:
                return False
            handles.append((box, ident))
            return True

    def _end_lease(self, key: tuple[object, ...], entry: _Entry) -> None:
        with self._lock:
            entry.leases -= 1
            entry.last_used = self._clock()

    def sweep(self) -> int:
        """Close the users idle for longer than ``idle_s`` (and any beyond ``max_users``).

        Returns:
            How many users were closed.
        """
        now = self._last_sweep = self._clock()
        dropped = 0
        boxes: list[Mailbox] = []
        with self._lock:
            over = len(self._users) - self._max_users
            for key, entry in list(self._users.items()):  # least recently used first
                if entry.leases:
                    continue
                if over > 0 or now - entry.last_used >= self._idle_s:
                    del self._users[key]
                    entry.evicted = True
                    boxes += entry.drain()
                    dropped += 1
                    over -= 1
        _close_all(boxes)
        return dropped

    def close(self) -> None:
        """Close every idle handle (the service is stopping); leased ones close on release."""
        boxes: list[Mailbox] = []
        with self._lock:
            for entry in self._users.values():
                entry.evicted = True
                boxes += entry.drain()
            self._users.clear()
        _close_all(boxes)


def _close_all(boxes: list[Mailbox]) -> None:
    for box in boxes:
        try:
            box.close()
        except Exception:  # noqa: BLE001, S110 - closing must go on for the others
            pass
