"""The per-mailbox index/cache: ``mailsuite.index.sqlite`` (SQLite, WAL mode).

A cache in the strict sense: everything in it can be rebuilt from the
Maildir files, ``dovecot-uidlist``, ``dovecot-keywords`` and
``mailsuite-state.sqlite``, so an admin may delete it at any time. Each
message record and each cached blob carries a CRC-32 that is checked on
every read (the Cyrus approach); a mismatch is reported to the caller, which
logs it and rebuilds the damaged part from the message file.
"""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Iterable
from typing import NamedTuple

from mailsuite.store.maildir.state import connect

__all__ = ["INDEX_FILE", "IndexDB", "IndexRow", "row_crc", "blob_crc"]

INDEX_FILE = "mailsuite.index.sqlite"
INDEX_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS msgs (
    uid INTEGER PRIMARY KEY, name TEXT NOT NULL, dir TEXT NOT NULL, flags TEXT NOT NULL,
    modseq INTEGER NOT NULL, psize INTEGER NOT NULL, vsize INTEGER NOT NULL,
    idate REAL NOT NULL, crc INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS msgs_modseq ON msgs (modseq);
CREATE TABLE IF NOT EXISTS cache (
    uid INTEGER NOT NULL, kind TEXT NOT NULL, blob BLOB NOT NULL, crc INTEGER NOT NULL,
    PRIMARY KEY (uid, kind)) WITHOUT ROWID;
"""


class IndexRow(NamedTuple):
    """One message record of the index (a tuple: 100,000 of them load fast)."""

    uid: int
    name: str  # file name in its directory, with ":2,<letters>"
    dir: str  # "new" or "cur"
    flags: str  # IMAP flags, sorted, space-separated
    modseq: int
    psize: int  # physical size
    vsize: int  # size with CRLF line ends
    idate: float

    def crc(self) -> int:
        return row_crc(self.uid, self.name, self.dir, self.flags, self.modseq, self.psize,
                       self.vsize, self.idate)  # fmt: skip

    def as_tuple(self) -> tuple[int, str, str, str, int, int, int, float, int]:
        return (self.uid, self.name, self.dir, self.flags, self.modseq, self.psize,
                self.vsize, self.idate, self.crc())  # fmt: skip


new_row = IndexRow._make


def row_crc(
    uid: int, name: str, dir: str, flags: str, modseq: int, psize: int, vsize: int, idate: float
) -> int:
    data = f"{uid}\t{name}\t{dir}\t{flags}\t{modseq}\t{psize}\t{vsize}\t{idate!r}"
    return zlib.crc32(data.encode("utf-8", "surrogateescape"))


def blob_crc(uid: int, kind: str, blob: bytes) -> int:
    # The UID and kind are part of the CRC so a blob moved to the wrong row is caught too.
    return zlib.crc32(blob, zlib.crc32(f"{uid}\t{kind}\t".encode()))


class IndexDB:
    """Access to one index file. Callers serialise access (one thread at a time).

    Raises:
        sqlite3.DatabaseError: the file is not a usable database (the caller
            deletes and rebuilds it).
    """

    def __init__(self, path: str) -> None:
        self.path = path
        # The meta table as last read by load_meta() plus this connection's own
        # committed writes; readers needing a value another process may have
        # changed since then call load_meta() (or get_meta()) first.
        self.meta: dict[str, str] = {}
        self._meta_writes: dict[str, str] = {}  # set in the open transaction
        # NORMAL: a cache may lose its last transactions on power loss, never its consistency.
        self.conn = connect(path, "NORMAL")
        self.conn.executescript(_SCHEMA)
        version = self.get_meta("version")
        if version is None:
            self.set_meta("version", INDEX_VERSION)
        elif version != INDEX_VERSION:
            raise sqlite3.DatabaseError(f"index version {version}, expected {INDEX_VERSION}")

    def close(self) -> None:
        try:
            self.conn.close()
        except sqlite3.Error:
            pass

    def get_meta(self, key: str) -> str | None:
        """One meta value as stored now (a statement of its own; see :meth:`load_meta`)."""
        row = self.conn.execute("SELECT v FROM meta WHERE k=?", (key,)).fetchone()
        return str(row[0]) if row else None

    def load_meta(self) -> dict[str, str]:
        """Read the whole meta table (a handful of rows) into :attr:`meta` with one statement.

        Inside a read transaction it is consistent with the rows read there;
        outside one it is a consistent snapshot of its own.
        """
        self.meta = {str(k): str(v) for k, v in self.conn.execute("SELECT k, v FROM meta")}
        return self.meta

    def set_meta(self, key: str, value: object) -> None:
        self.set_metas({key: value})

    def set_metas(self, values: dict[str, object]) -> None:
        """Write several meta values with one statement; :attr:`meta` has them once committed."""
        if not values:
            return
        items = [(k, str(v)) for k, v in values.items()]
        self.conn.executemany("INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)", items)
        if self.conn.in_transaction:
            self._meta_writes.update(items)
        else:
            self.meta.update(items)

    def begin(self) -> None:
        self._meta_writes.clear()
        self.conn.execute("BEGIN IMMEDIATE")

    def begin_read(self) -> None:
        # A deferred transaction: one consistent snapshot for several SELECTs (WAL).
        self._meta_writes.clear()
        self.conn.execute("BEGIN")

    def commit(self) -> None:
        self.conn.execute("COMMIT")
        if self._meta_writes:
            self.meta.update(self._meta_writes)
            self._meta_writes.clear()

    def rollback(self) -> None:
        self._meta_writes.clear()
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    def rows_since(self, modseq: int) -> tuple[list[IndexRow], list[int]]:
        """Records with a MODSEQ above ``modseq``, and the UIDs whose CRC is wrong."""
        good: list[IndexRow] = []
        bad: list[int] = []
        crc32 = zlib.crc32
        for uid, name, d, flags, ms, ps, vs, idate, crc in self.conn.execute(
            "SELECT uid, name, dir, flags, modseq, psize, vsize, idate, crc FROM msgs"
            " WHERE modseq > ?",
            (modseq,),
        ):
            data = f"{uid}\t{name}\t{d}\t{flags}\t{ms}\t{ps}\t{vs}\t{idate!r}"
            if crc32(data.encode("utf-8", "surrogateescape")) != crc:
                bad.append(int(uid))
                continue
            good.append(new_row((uid, name, d, flags, ms, ps, vs, idate)))
        return good, bad

    def all_uids(self) -> list[int]:
        return [int(r[0]) for r in self.conn.execute("SELECT uid FROM msgs")]

    def upsert(self, rows: Iterable[IndexRow]) -> None:
        self.conn.executemany(
            "INSERT OR REPLACE INTO msgs (uid, name, dir, flags, modseq, psize, vsize, idate, crc)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [r.as_tuple() for r in rows],
        )

    def delete(self, uids: Iterable[int]) -> None:
        keys = [(u,) for u in uids]
        self.conn.executemany("DELETE FROM msgs WHERE uid=?", keys)
        self.conn.executemany("DELETE FROM cache WHERE uid=?", keys)

    def get_blob(self, uid: int, kind: str) -> tuple[bytes | None, bool]:
        """The cached blob (None when absent) and whether its CRC was wrong."""
        row = self.conn.execute(
            "SELECT blob, crc FROM cache WHERE uid=? AND kind=?", (uid, kind)
        ).fetchone()
        if row is None:
            return None, False
        blob = bytes(row[0])
        if blob_crc(uid, kind, blob) != row[1]:
            return None, True
        return blob, False

    def uid_after(self, uid: int, skip: int) -> int | None:
        """The UID ``skip`` records after the first one at or above ``uid`` (None: past the end)."""
        row = self.conn.execute(
            "SELECT uid FROM msgs WHERE uid >= ? ORDER BY uid LIMIT 1 OFFSET ?", (uid, skip)
        ).fetchone()
        return int(row[0]) if row else None

    def blobs_between(self, kind: str, lo: int, hi: int) -> dict[int, tuple[bytes, int]]:
        """The cached blobs of ``kind`` for UIDs ``lo``..``hi``, with their CRCs.

        The range is bounded on both ends so the scan never runs past it (a
        mailbox whose ENVELOPEs are not cached yet would otherwise be scanned
        to its end at every call). The caller checks each CRC
        (:func:`blob_crc`) when it uses the blob.
        """
        return {
            int(u): (bytes(b), int(c))
            for u, b, c in self.conn.execute(
                "SELECT uid, blob, crc FROM cache WHERE uid BETWEEN ? AND ? AND kind = ?",
                (lo, hi, kind),
            )
        }

    def put_blobs(self, rows: Iterable[tuple[int, str, bytes]]) -> None:
        self.conn.executemany(
            "INSERT OR REPLACE INTO cache (uid, kind, blob, crc) VALUES (?, ?, ?, ?)",
            [(u, k, b, blob_crc(u, k, b)) for u, k, b in rows],
        )

    def bad_blobs(self) -> list[tuple[int, str]]:
        """Every cached blob whose CRC does not match (for ``index check``)."""
        out = []
        for uid, kind, blob, crc in self.conn.execute("SELECT uid, kind, blob, crc FROM cache"):
            if blob_crc(int(uid), kind, bytes(blob)) != crc:
                out.append((int(uid), str(kind)))
        return out

    def delete_blobs(self, keys: Iterable[tuple[int, str]]) -> None:
        self.conn.executemany("DELETE FROM cache WHERE uid=? AND kind=?", list(keys))
