"""The durable, non-rebuildable state of one mailbox: ``mailsuite-state.sqlite``.

Everything here would be lost for good if the file went away, so it is kept
apart from the index/cache (which may be deleted at any time), and every
commit that records the first two below syncs the WAL before it returns
(what ``synchronous=FULL`` does):

* the MODSEQ ceiling: no MODSEQ at or below it was ever handed out *above*
  it, so a rebuilt index starts above it and MODSEQ stays monotonic
  (RFC 7162 section 3.1.1). It is raised in steps of ``MODSEQ_RESERVE`` so
  a flag change costs a durable write only once per step; the ceiling last
  known is kept in memory (it only ever grows), so a MODSEQ below it costs
  no statement at all;
* expunged UIDs with the MODSEQ of their expunge (QRESYNC VANISHED);
* the SHA-1 of every message file, recorded when it is delivered or first
  seen, to detect a damaged file later.

A transaction that only records hashes (the common delivery) commits with
``synchronous=NORMAL``: in WAL mode that keeps the file consistent and skips
one fsync per message; the next durable commit carries it along. A hash
lost in a crash is only a hash not yet recorded, which the integrity check
records as "first seen"; the message itself and its UID are already durable
(message file, ``new/`` and ``dovecot-uidlist`` are synced first).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

__all__ = ["StateDB", "STATE_FILE", "MODSEQ_RESERVE"]

STATE_FILE = "mailsuite-state.sqlite"
MODSEQ_RESERVE = 1024

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS hashes (uid INTEGER PRIMARY KEY, sha1 TEXT NOT NULL,
                                   size INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS vanished (uid INTEGER PRIMARY KEY, modseq INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS vanished_modseq ON vanished (modseq);
"""


def connect(path: str, synchronous: str) -> sqlite3.Connection:
    """Open an SQLite file in WAL mode for use under the caller's lock."""
    conn = sqlite3.connect(path, timeout=60.0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    return conn


class StateDB:
    """The durable per-mailbox state. Callers serialise access (one thread at a time).

    The connection runs at ``synchronous=NORMAL``; a transaction that writes
    what must never be lost (a MODSEQ ceiling, vanished UIDs) fdatasyncs the
    WAL itself before :meth:`commit` returns, which is what ``FULL`` would do
    at that commit, without switching the level twice per transaction. A
    write made outside :meth:`begin`/:meth:`commit` runs in a transaction of
    its own, synced the same way.
    """

    def __init__(self, path: str, fsync: bool = True) -> None:
        self.path = path
        self._fsync = fsync
        self._must_sync = False  # this transaction writes what must never be lost
        # The highest ceiling known to be on disk. It only ever grows (every
        # process only raises it), so a MODSEQ at or below it needs no write.
        self._ceiling = 0
        self._pending_ceiling = 0  # raised in the open transaction, known once committed
        self.conn = connect(path, "NORMAL" if fsync else "OFF")
        self.conn.executescript(_SCHEMA)

    def close(self) -> None:
        self.conn.close()

    def modseq_ceiling(self) -> int:
        row = self.conn.execute("SELECT v FROM meta WHERE k='modseq_ceiling'").fetchone()
        ceiling = int(row[0]) if row else 0
        if not self.conn.in_transaction:  # inside one it may be our own uncommitted raise
            self._ceiling = max(self._ceiling, ceiling)
        return ceiling

    def covers(self, needed: int) -> bool:
        """Whether ``needed`` is known to be at or below the durable ceiling (no I/O)."""
        return needed <= self._ceiling

    def reserve_modseq(self, needed: int) -> int:
        """Make sure the ceiling is at least ``needed``; returns the ceiling.

        Costs no statement while ``needed`` is under the ceiling this object
        knows; otherwise the ceiling is read again (another process may have
        raised it) and raised when still too low.
        """
        if needed <= self._ceiling:
            return self._ceiling
        with self._transaction():
            ceiling = self.modseq_ceiling()
            if needed <= ceiling:
                self._pending_ceiling = max(self._pending_ceiling, ceiling)
                return ceiling
            ceiling = needed + MODSEQ_RESERVE
            self._must_sync = True  # RFC 7162 3.1.1: MODSEQ must never go back after a crash
            self.conn.execute(
                "INSERT OR REPLACE INTO meta (k, v) VALUES ('modseq_ceiling', ?)", (ceiling,)
            )
            self._pending_ceiling = ceiling
            return ceiling

    def add_hashes(self, rows: Iterable[tuple[int, str, int]]) -> None:
        with self._transaction():
            self.conn.executemany(
                "INSERT OR REPLACE INTO hashes (uid, sha1, size) VALUES (?, ?, ?)", rows
            )

    def hash_of(self, uid: int) -> tuple[str, int] | None:
        row = self.conn.execute("SELECT sha1, size FROM hashes WHERE uid=?", (uid,)).fetchone()
        return (row[0], int(row[1])) if row else None

    def hashed_uids(self) -> set[int]:
        """UIDs whose SHA-1 is recorded (cheaper than :meth:`all_hashes` for a rebuild)."""
        return {int(r[0]) for r in self.conn.execute("SELECT uid FROM hashes")}

    def all_hashes(self) -> dict[int, tuple[str, int]]:
        return {
            int(u): (h, int(s))
            for u, h, s in self.conn.execute("SELECT uid, sha1, size FROM hashes")
        }

    def add_vanished(self, rows: Iterable[tuple[int, int]]) -> None:
        rows = list(rows)
        if not rows:
            return
        with self._transaction():
            self._must_sync = True
            self.conn.executemany(
                "INSERT OR REPLACE INTO vanished (uid, modseq) VALUES (?, ?)", rows
            )
            self.conn.executemany("DELETE FROM hashes WHERE uid=?", [(u,) for u, _ in rows])

    def vanished_since(self, modseq: int) -> list[int]:
        return [
            int(r[0])
            for r in self.conn.execute(
                "SELECT uid FROM vanished WHERE modseq > ? ORDER BY uid", (modseq,)
            )
        ]

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """Inside the caller's transaction, nothing; outside one, a transaction of its own."""
        if self.conn.in_transaction:
            yield
            return
        self.begin()
        try:
            yield
        except BaseException:
            self.rollback()
            raise
        self.commit()

    def begin(self) -> None:
        self._must_sync = False
        self._pending_ceiling = 0
        self.conn.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.conn.execute("COMMIT")
        if self._fsync and self._must_sync:
            # What FULL does at commit: the WAL holding this transaction on disk.
            # (A checkpoint run by this commit has synced the database file.)
            self._sync_wal()
        self._must_sync = False
        self._ceiling = max(self._ceiling, self._pending_ceiling)

    def _sync_wal(self) -> None:
        try:
            fd = os.open(self.path + "-wal", os.O_RDONLY)
        except FileNotFoundError:
            return  # checkpointed and removed: the database file is synced
        try:
            os.fdatasync(fd)
        finally:
            os.close(fd)

    def rollback(self) -> None:
        self._pending_ceiling = 0
        self._must_sync = False
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")
