"""The shared state of one Maildir mailbox in this process: files, UID map, index, locks.

Every session that opens a mailbox gets a thin :class:`~.mailbox.MaildirMailbox`
over the one :class:`MailboxCore` per directory in the process, so 100 IDLE
sessions on one big mailbox hold its records in memory once.

Locking, outermost first:

1. ``self.rlock``: threads of this process (SQLite connections are shared).
2. ``mailsuite.lock`` (flock): other mailsuite processes; held for every
   change so the uidlist, the durable state and the index change together.
3. ``dovecot-uidlist.lock`` (Dovecot's dotlock): Dovecot itself; held while
   UIDs are assigned, exactly as Dovecot holds it.

Readers take only (1) and read the index inside one SQLite read transaction,
so they never see half of a change.
"""

from __future__ import annotations

import bisect
import fcntl
import logging
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager

from mailsuite.errors import ErrorKind, MailError
from mailsuite.store.api import DELETED, ChangeNotifier, MessageRecord
from mailsuite.store.maildir.filenames import NameGenerator
from mailsuite.store.maildir.index import INDEX_FILE, IndexDB, IndexRow, blob_crc
from mailsuite.store.maildir.quota import MaildirSize
from mailsuite.store.maildir.records import gc_paused
from mailsuite.store.maildir.scan import (
    SUBDIRS,
    dir_stamp,
    needs_listing,
    own_change_stamp,
)
from mailsuite.store.maildir.state import STATE_FILE, StateDB
from mailsuite.store.maildir.uidfiles import UidFiles
from mailsuite.store.maildir.uidlist import (
    UidList,
)

__all__ = ["MailboxCore", "UIDLIST_FILE", "KEYWORDS_FILE", "LOCK_FILE", "default_log"]

UIDLIST_FILE = "dovecot-uidlist"
KEYWORDS_FILE = "dovecot-keywords"
LOCK_FILE = "mailsuite.lock"
# How often an open index is checked for having been deleted or replaced by an admin.
INDEX_RECHECK_S = 1.0
READ_AHEAD_MAX = 1024  # cached blobs read by one SELECT during a run of ascending requests

_logger = logging.getLogger("mailsuite.store")


def default_log(text: str) -> None:
    _logger.warning(text)


def _checked(uid: int, kind: str, hit: tuple[bytes, int] | None) -> tuple[bytes | None, bool]:
    if hit is None:
        return None, False
    blob, crc = hit
    return (blob, False) if blob_crc(uid, kind, blob) == crc else (None, True)


def _record_uid(rec: MessageRecord) -> int:
    return rec.uid


def base_of(name: str) -> str:
    return name.partition(":")[0]


class MailboxCore(UidFiles):
    """One mailbox directory; all methods are thread-safe.

    Args:
        path: the mailbox directory (holding cur/ new/ tmp/).
        user: the owner, for log lines.
        name: the mailbox name, for log lines.
        fsync: fsync files and directories (never off in production).
        log: receives one line per problem found (corruption, repair).
        names: makes unique file names.
        quota: the user's quota file, None when quota is not kept.
        notifier: told after every committed change.
        new_uidvalidity: hands out a UIDVALIDITY for a mailbox without a uidlist.
    """

    def __init__(
        self,
        path: str,
        *,
        user: str,
        name: str,
        fsync: bool,
        log: Callable[[str], None],
        names: NameGenerator,
        quota: MaildirSize | None,
        notifier: ChangeNotifier | None,
        new_uidvalidity: Callable[[], int],
    ) -> None:
        self.path = os.path.abspath(path)
        self.sub_paths = {sub: os.path.join(self.path, sub) for sub in ("new", "cur", "tmp")}
        self.uidlist_path = os.path.join(self.path, UIDLIST_FILE)
        self.index_path = os.path.join(self.path, INDEX_FILE)
        self._lock_path = os.path.join(self.path, LOCK_FILE)
        self._keywords_path = os.path.join(self.path, KEYWORDS_FILE)
        self.user = user
        self.name = name
        self.fsync = fsync
        self.log = log
        self.names = names
        self.quota = quota
        self.notifiers: list[ChangeNotifier] = [notifier] if notifier is not None else []
        self._new_uidvalidity = new_uidvalidity
        self.rlock = threading.RLock()
        self._flock_fd: int | None = None
        self._flock_depth = 0
        self._state: StateDB | None = None
        self._index: IndexDB | None = None
        self._index_ino = 0
        self._index_checked_at = 0.0
        self._index_id: str | None = None
        self.rows: dict[int, IndexRow] = {}
        self.by_name: dict[str, int] = {}  # file name -> UID, kept with self.rows
        self.in_new: set[int] = set()  # UIDs of rows whose file is in new/, kept with self.rows
        # UIDs of rows flagged \Deleted, kept with self.rows (may hold a few stale UIDs:
        # users check the row), so EXPUNGE need not look at every message.
        self.deleted: set[int] = set()
        self._loaded_modseq = -1
        self.uidvalidity = 0
        self.uidnext = 1
        self.highestmodseq = 0
        self.version = 0  # bumped whenever self.rows changes
        self.records_cache: tuple[int, tuple[MessageRecord, ...]] | None = None
        self.record_memo: dict[int, MessageRecord] = {}  # uid -> record of self.rows[uid]
        # UIDs whose row was added or replaced since records_cache was built; None when
        # rows were removed or reloaded (records_of then rebuilds the whole tuple).
        self.changed_uids: set[int] | None = None
        self.removed_uids: set[int] = set()  # rows removed since then (while changed_uids is set)
        self.claimed_floor: int | None = None  # see commit_rows(claim_recent=True)
        # (version, recent floor, recent, unseen, size) of the last STATUS counted
        self.status_memo: tuple[int, int, int, int, int] | None = None
        self.pending_blobs: dict[tuple[int, str], bytes] = {}  # cache entries not yet written
        self._uidlist_cache: tuple[tuple[int, int, int], UidList, bytes | None] | None = None
        self._kw_cache: tuple[tuple[int, int, int], list[str | None]] | None = None
        self.clock: Callable[[], float] = time.time  # wall clock, compared with mtimes
        # Read-ahead of cached blobs per kind (see cached_blob): uid -> (blob, crc).
        # kind -> (first UID, last UID, uid -> (blob, crc)) of the current window
        self._ahead: dict[str, tuple[int, int, dict[int, tuple[bytes, int]]]] = {}
        self._ahead_last: dict[str, int] = {}
        self._ahead_window: dict[str, int] = {}

    # ----------------------------------------------------------------- paths
    def file_path(self, row: IndexRow) -> str:
        return f"{self.sub_paths[row.dir]}/{row.name}"

    def still_loaded(self) -> bool:
        """Whether records loaded earlier belong to the index file still on disk (one stat).

        False for a core never loaded (or closed since), and when an admin or
        a removed Maildir took the index file away: opening must sync then.
        """
        with self.rlock:
            if self._index_id is None or self._index is None:
                return False
            try:
                return os.stat(self.index_path).st_ino == self._index_ino
            except FileNotFoundError:
                return False

    def where(self) -> str:
        return f"user={self.user} mailbox={self.name!r} path={self.path}"

    # ----------------------------------------------------------------- locks
    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the thread lock and the cross-process ``mailsuite.lock`` flock."""
        with self.rlock:
            if self._flock_depth == 0:
                fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
                fcntl.flock(fd, fcntl.LOCK_EX)
                self._flock_fd = fd
            self._flock_depth += 1
            try:
                yield
            finally:
                self._flock_depth -= 1
                if self._flock_depth == 0 and self._flock_fd is not None:
                    fcntl.flock(self._flock_fd, fcntl.LOCK_UN)
                    os.close(self._flock_fd)
                    self._flock_fd = None

    def notify(self) -> None:
        for n in list(self.notifiers):
            n.changed(self.path)

    # --------------------------------------------------------------- storage
    def _check_exists(self) -> None:
        if not os.path.isdir(self.sub_paths["cur"]):
            # Deleted or renamed while a session had it open.
            raise MailError(ErrorKind.NOT_FOUND, "Mailbox doesn't exist", f"{self.where()} is gone")

    @property
    def state(self) -> StateDB:
        if self._state is None:
            self._check_exists()
            try:
                self._state = StateDB(os.path.join(self.path, STATE_FILE), self.fsync)
            except sqlite3.Error as e:
                raise MailError(
                    ErrorKind.TEMP,
                    "Internal error occurred. Refer to server log for more information.",
                    f"cannot open {STATE_FILE} ({self.where()}): {e}",
                ) from None
        return self._state

    @property
    def index(self) -> IndexDB:
        """The index, opened (and rebuilt when missing or unusable) on demand."""
        if self._index is not None:
            now = time.monotonic()
            if now - self._index_checked_at < INDEX_RECHECK_S:
                return self._index
            try:
                ino = os.stat(self.index_path).st_ino
            except FileNotFoundError:
                ino = -1
            if ino == self._index_ino:
                self._index_checked_at = now
                return self._index
            self.log(
                f"index file {self.index_path} was removed or replaced; rebuilding ({self.where()})"
            )
            self._drop_index(delete=False)
            if self._state is not None and not os.path.exists(self._state.path):
                # The whole mailbox directory was removed: the state goes with it.
                self._state.close()
                self._state = None
        self._check_exists()
        try:
            idx = IndexDB(self.index_path)
        except sqlite3.DatabaseError as e:
            self.log(
                f"index file {self.index_path} is corrupted ({e}); rebuilding ({self.where()})"
            )
            self._drop_index(delete=True)
            idx = IndexDB(self.index_path)
        if idx.get_meta("index_id") is None:
            # A new index: MODSEQs continue above anything ever handed out (RFC 7162 3.1.1).
            idx.begin()
            idx.set_meta("index_id", secrets.token_hex(8))
            idx.set_meta("highestmodseq", self.state.modseq_ceiling())
            idx.commit()
        self._index = idx
        self._index_ino = os.stat(self.index_path).st_ino
        self._index_checked_at = time.monotonic()
        return idx

    def _drop_index(self, delete: bool) -> None:
        self.forget_read_ahead()
        if self._index is not None:
            self._index.close()
        self._index = None
        self._index_ino = 0
        if delete:
            for suffix in ("", "-wal", "-shm"):
                try:
                    os.unlink(self.index_path + suffix)
                except FileNotFoundError:
                    pass

    def reset_index(self, reason: str) -> None:
        """Throw the index away (it is only a cache) and rebuild it from the files."""
        with self.locked():
            self.log(f"{reason}; rebuilding index ({self.where()})")
            self._drop_index(delete=True)
            self._index_id = None
            self.pending_blobs.clear()
            self.rows.clear()
            self.by_name.clear()
            self.record_memo.clear()
            self.in_new.clear()
            self.deleted.clear()
            self.changed_uids = None
            self._loaded_modseq = -1
            self.version += 1
            self.sync(force=True)

    def cached_blob(self, uid: int, kind: str) -> tuple[bytes | None, bool]:
        """A cached blob from the index (None when absent) and whether its CRC was wrong.

        A FETCH over many messages asks for them in UID order, one at a time;
        one SELECT per message would cost more than decoding the blob. So a
        run of ascending requests reads ahead, in UID windows growing up to
        ``READ_AHEAD_MAX`` messages; a lone request reads just its own blob.
        A UID inside the window without a blob had none when it was read (it
        is then made from the file). CRCs are checked as each blob is handed
        out. Caller holds ``rlock``.
        """
        win = self._ahead.get(kind)
        if win is not None and win[0] <= uid <= win[1]:
            self._ahead_last[kind] = uid
            return _checked(uid, kind, win[2].get(uid))  # kept: a later re-read is served too
        last = self._ahead_last.get(kind)
        window = self._ahead_window.get(kind, 1)
        window = min(window * 4, READ_AHEAD_MAX) if last is not None and uid > last else 1
        self._ahead_window[kind] = window
        self._ahead_last[kind] = uid
        idx = self.index
        hi = uid if window == 1 else self._uid_after(uid, window - 1)
        if hi is None:
            hi = max(self.uidnext, uid)  # fewer than ``window`` messages left
        got = idx.blobs_between(kind, uid, hi)
        self._ahead[kind] = (uid, hi, got)
        return _checked(uid, kind, got.get(uid))

    def _uid_after(self, uid: int, skip: int) -> int | None:
        """The UID ``skip`` records after the first one at or above ``uid`` (None: past the end).

        From the sorted records in memory when they are current (no statement),
        otherwise from the index.
        """
        cached = self.records_cache
        if cached is None or cached[0] != self.version:
            return self.index.uid_after(uid, skip)
        records = cached[1]
        i = bisect.bisect_left(records, uid, key=_record_uid) + skip
        return records[i].uid if i < len(records) else None

    def forget_read_ahead(self) -> None:
        """Drop the read-ahead windows (their view of which blobs exist is outdated)."""
        self._ahead.clear()

    def flush_blobs(self) -> None:
        """Write the cached blobs made since the last flush (one transaction)."""
        with self.rlock:
            if not self.pending_blobs:
                return
            pending, self.pending_blobs = self.pending_blobs, {}
            self.forget_read_ahead()  # the windows would call these blobs absent
            idx = self.index
            idx.begin()
            try:
                idx.put_blobs((u, k, b) for (u, k), b in pending.items() if u in self.rows)
                idx.commit()
            except BaseException:
                idx.rollback()
                raise

    def close(self) -> None:
        with self.rlock:
            try:
                self.flush_blobs()
            except sqlite3.Error as e:
                self.log(f"cannot write cached data to {self.index_path}: {e} ({self.where()})")
            self._drop_index(delete=False)
            self._index_id = None  # reopening reloads (and re-verifies) every record
            if self._state is not None:
                self._state.close()
                self._state = None

    # ---------------------------------------------------------------- sync
    def refresh(self) -> list[int]:
        """Bring ``self.rows`` up to date with the index; returns UIDs with a bad CRC.

        The meta table (a handful of rows) is read with one statement; only
        when its HIGHESTMODSEQ or index id moved are the changed records read,
        in a read transaction together with the meta table again.
        """
        idx = self.index
        meta = idx.load_meta()
        if meta.get("index_id") == self._index_id and self._same_modseq(meta):
            return []
        idx.begin_read()
        try:
            meta = idx.load_meta()
            iid = meta.get("index_id")
            full = iid != self._index_id
            if not full and self._same_modseq(meta):
                return []
            hms = int(meta.get("highestmodseq") or 0)
            with gc_paused():
                rows, bad = idx.rows_since(-1 if full else self._loaded_modseq)
        finally:
            idx.commit()
        if full:
            self.rows.clear()
            self.by_name.clear()
            self.record_memo.clear()
            self.changed_uids = None
            self.forget_read_ahead()
            self._index_id = iid
            with gc_paused():
                self.rows.update({r.uid: r for r in rows})
                self.by_name.update({r.name: r.uid for r in rows})
            self.in_new = {r.uid for r in rows if r.dir == "new"}
            self.deleted = {r.uid for r in rows if DELETED in r.flags}
        else:
            for uid in self.state.vanished_since(self._loaded_modseq):
                self._drop_row(uid)
            self._put_rows(rows)
        for uid in bad:
            self._drop_row(uid)
        self._loaded_modseq = self.highestmodseq = hms
        self.uidnext = int(meta.get("uidnext") or 1)
        self.uidvalidity = int(meta.get("uidvalidity") or 0)
        self.version += 1
        for uid in bad:
            self.log(f"index record for UID {uid} has a bad CRC; rebuilding it from the file "
                     f"({self.where()})")  # fmt: skip
        return bad

    def _same_modseq(self, meta: dict[str, str]) -> bool:
        """Whether no record changed since the last load (UIDNEXT/UIDVALIDITY are taken over)."""
        if int(meta.get("highestmodseq") or 0) != self._loaded_modseq:
            return False
        # No record changed, but the first scan of an empty mailbox still
        # creates its UIDVALIDITY (RFC 3501 9: nz-number, never 0).
        uidnext = int(meta.get("uidnext") or 1)
        uidvalidity = int(meta.get("uidvalidity") or 0)
        if (uidnext, uidvalidity) != (self.uidnext, self.uidvalidity):
            self.uidnext, self.uidvalidity = uidnext, uidvalidity
            self.version += 1
        return True

    def _put_rows(self, rows: Iterable[IndexRow]) -> None:
        memo = self.record_memo
        changed = self.changed_uids
        for r in rows:
            if changed is not None:
                changed.add(r.uid)
            old = self.rows.get(r.uid)
            if old is not None and old.name != r.name:
                self.by_name.pop(old.name, None)
            self.rows[r.uid] = r
            self.by_name[r.name] = r.uid
            memo.pop(r.uid, None)
            if r.dir == "new":
                self.in_new.add(r.uid)
            else:
                self.in_new.discard(r.uid)
            if DELETED in r.flags:
                self.deleted.add(r.uid)
            else:
                self.deleted.discard(r.uid)

    def commit_rows(
        self,
        rows: Sequence[IndexRow],
        blobs: Sequence[tuple[int, str, bytes]],
        ms: int,
        deleted: Sequence[int] = (),
        meta: dict[str, object] | None = None,
        claim_recent: bool = False,
    ) -> None:
        """Write our own change to the index and take it over into memory.

        With ``claim_recent`` the \\Recent floor moves up to UIDNEXT in the
        same transaction (what a snapshot would otherwise do in one more), and
        the floor it had is left in :attr:`claimed_floor`.

        Caller holds :meth:`locked` and has refreshed under it, so the index
        held exactly ``self.rows`` before this transaction (only this lock's
        holder writes records): what was written is applied to memory as it
        is, instead of being read back. Whether that holds is checked inside
        the write transaction; when it does not (the index was replaced
        meanwhile), the change is read back as before.
        """
        idx = self.index
        values: dict[str, object] = {"highestmodseq": ms}
        values.update(meta or {})
        idx.begin()
        try:
            # Read under the write lock: the one authoritative answer to "unchanged since".
            now = idx.load_meta()
            in_step = now.get("index_id") == self._index_id and (
                int(now.get("highestmodseq") or 0) == self._loaded_modseq
            )
            if rows:
                idx.upsert(rows)
            if deleted:
                idx.delete(deleted)
            if blobs:
                idx.put_blobs(blobs)
            floor = None
            if claim_recent:
                # RFC 3501 2.3.2: read and moved inside one write transaction, so
                # each message is \Recent in exactly one session.
                uidnext = int(str(values.get("uidnext") or now.get("uidnext") or 1))
                floor = int(now.get("recent_uid") or uidnext)
                if uidnext > floor:
                    values["recent_uid"] = uidnext
            idx.set_metas(values)
            idx.commit()
        except BaseException:
            idx.rollback()
            raise
        if claim_recent:
            self.claimed_floor = floor
        if not in_step or ms <= self._loaded_modseq:
            self.refresh()
            return
        for uid in deleted:
            self._drop_row(uid)
        self._put_rows(rows)
        self._loaded_modseq = self.highestmodseq = ms
        self.uidnext = int(idx.meta.get("uidnext") or 1)
        self.uidvalidity = int(idx.meta.get("uidvalidity") or 0)
        self.version += 1

    def _drop_row(self, uid: int) -> None:
        old = self.rows.pop(uid, None)
        self.record_memo.pop(uid, None)
        if old is not None and self.changed_uids is not None:
            self.changed_uids.discard(uid)
            self.removed_uids.add(uid)
        self.in_new.discard(uid)
        self.deleted.discard(uid)
        for _lo, _hi, ahead in self._ahead.values():
            ahead.pop(uid, None)
        if old is not None:
            self.by_name.pop(old.name, None)

    def sync(self, force: bool = False) -> None:
        """Pick up changes on disk; cheap (no directory listing) when nothing changed."""
        with self.rlock:
            self._index_checked_at = 0.0  # every sync looks whether an admin removed the index
            try:
                self.flush_blobs()
                bad = self.refresh()
            except sqlite3.DatabaseError as e:
                self.reset_index(f"index file {self.index_path} is unreadable ({e})")
                return
            meta = self.index.meta  # as refresh() just read it
            subs = []
            now = self.clock()
            for sub in SUBDIRS:
                stamp = dir_stamp(self.sub_paths[sub])
                if force or bad or needs_listing(meta.get("stamp_" + sub), stamp, now):
                    subs.append(sub)
            if subs:
                with self.locked():
                    self._scan(subs if not bad else list(SUBDIRS), set(bad))

    # ------------------------------------------------------ own changes
    def stamps_before(self, subs: Iterable[str]) -> dict[str, tuple[int, int, int] | None]:
        """Directory stamps before our own change; caller holds :meth:`locked`."""
        return {sub: dir_stamp(self.sub_paths[sub]) for sub in subs}

    def own_stamps(self, before: dict[str, tuple[int, int, int] | None]) -> dict[str, str]:
        """Index meta values recording our own change since ``before`` (see :mod:`.scan`).

        A directory that had changed behind our back gets no record, so the
        next sync lists it. Caller holds :meth:`locked` and writes the result
        in the same index transaction as the rows it changed.
        """
        meta = self.index.meta  # current: refreshed under the lock, stamps change only under it
        out = {}
        for sub, b in before.items():
            after = dir_stamp(self.sub_paths[sub])
            value = own_change_stamp(meta.get("stamp_" + sub), b, after)
            if value is not None:
                out["stamp_" + sub] = value
        return out

    def _scan(self, subs: list[str], bad: set[int]) -> None:
        from mailsuite.store.maildir.sync import scan

        scan(self, subs, bad)
