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
from mailsuite.store.api import ChangeNotifier, MessageRecord
from mailsuite.store.maildir.filenames import LETTER_TO_FLAG, NameGenerator
from mailsuite.store.maildir.index import INDEX_FILE, IndexDB, IndexRow, blob_crc
from mailsuite.store.maildir.locks import DotLock, atomic_write
from mailsuite.store.maildir.quota import MaildirSize
from mailsuite.store.maildir.records import gc_paused
from mailsuite.store.maildir.scan import (
    SUBDIRS,
    dir_stamp,
    needs_listing,
    own_change_stamp,
)
from mailsuite.store.maildir.state import STATE_FILE, StateDB
from mailsuite.store.maildir.uidlist import (
    MAX_KEYWORDS,
    UidList,
    UidListError,
    format_header,
    format_keywords,
    format_records,
    parse_keywords,
    parse_uidlist,
    read_file,
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


def base_of(name: str) -> str:
    return name.partition(":")[0]


class MailboxCore:
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
        return os.path.join(self.path, row.dir, row.name)

    @property
    def uidlist_path(self) -> str:
        return os.path.join(self.path, UIDLIST_FILE)

    @property
    def index_path(self) -> str:
        return os.path.join(self.path, INDEX_FILE)

    def where(self) -> str:
        return f"user={self.user} mailbox={self.name!r} path={self.path}"

    # ----------------------------------------------------------------- locks
    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the thread lock and the cross-process ``mailsuite.lock`` flock."""
        with self.rlock:
            if self._flock_depth == 0:
                fd = os.open(os.path.join(self.path, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o600)
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
        if not os.path.isdir(os.path.join(self.path, "cur")):
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
        hi = uid if window == 1 else idx.uid_after(uid, window - 1)
        if hi is None:
            hi = max(self.uidnext, uid)  # fewer than ``window`` messages left
        got = idx.blobs_between(kind, uid, hi)
        self._ahead[kind] = (uid, hi, got)
        return _checked(uid, kind, got.get(uid))

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

    # ----------------------------------------------------------- keywords
    def keywords(self) -> list[str | None]:
        path = os.path.join(self.path, KEYWORDS_FILE)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return []
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        if self._kw_cache is not None and self._kw_cache[0] == key:
            return self._kw_cache[1]
        res = read_file(path)
        kws = parse_keywords(res[0]) if res else []
        self._kw_cache = (key, kws)
        return kws

    def keyword_letters(self, wanted: frozenset[str]) -> dict[str, str]:
        """Letters for keywords, adding new ones to ``dovecot-keywords``; caller holds locks.

        Raises:
            MailError: LIMIT when all 26 letters are taken.
        """
        kws = list(self.keywords())
        out: dict[str, str] = {}
        added = False
        for kw in sorted(wanted):
            if kw in kws:
                out[kw] = chr(ord("a") + kws.index(kw))
                continue
            try:
                slot = kws.index(None)
            except ValueError:
                slot = len(kws)
                if slot >= MAX_KEYWORDS:
                    raise MailError(
                        ErrorKind.LIMIT,
                        "Too many keywords in this mailbox",
                        f"cannot add keyword {kw!r}: all {MAX_KEYWORDS} letters in use "
                        f"({self.where()})",
                    ) from None
                kws.append(None)
            kws[slot] = kw
            out[kw] = chr(ord("a") + slot)
            added = True
        if added:
            atomic_write(os.path.join(self.path, KEYWORDS_FILE), format_keywords(kws), self.fsync)
        return out

    def flags_of(self, letters: str, kws: list[str | None]) -> str:
        out = []
        for c in letters:
            f = LETTER_TO_FLAG.get(c)
            if f is not None:
                out.append(f)
            elif "a" <= c <= "z":
                i = ord(c) - 97
                if i < len(kws) and kws[i]:
                    out.append(kws[i])  # type: ignore[arg-type]
        return " ".join(sorted(set(out)))

    # ------------------------------------------------------------ uidlist
    def load_uidlist(self) -> tuple[UidList, bool]:
        """The uidlist (a private copy) and whether it must be written; caller holds the dotlock."""
        try:
            st = os.stat(self.uidlist_path)
        except FileNotFoundError:
            st = None
        if st is not None:
            key = (st.st_ino, st.st_mtime_ns, st.st_size)
            if self._uidlist_cache is not None and self._uidlist_cache[0] == key:
                ul = self._uidlist_cache[1]
            else:
                res = read_file(self.uidlist_path)
                if res is None:
                    return self.load_uidlist()
                data, st = res
                try:
                    ul = parse_uidlist(data)
                except UidListError as e:
                    return self._recover_uidlist(str(e)), True
                body = data.partition(b"\n")[2]
                self._uidlist_cache = (
                    (st.st_ino, st.st_mtime_ns, st.st_size),
                    ul,
                    body if body.endswith(b"\n") or not body else None,
                )
            return UidList(ul.uidvalidity, ul.nextuid, ul.guid, dict(ul.records),
                           list(ul.header_extra)), False  # fmt: skip
        if self.rows or self._index_uidvalidity():
            return self._recover_uidlist("file is missing"), True
        return UidList(self._new_uidvalidity(), 1, secrets.token_hex(16)), True

    def write_uidlist(self, dl: DotLock, ul: UidList, added: Sequence[int] | None = None) -> None:
        """Write the uidlist (releasing the dotlock); caller no longer changes ``ul``.

        Args:
            added: the only change since :meth:`load_uidlist` is these new UIDs:
                appended in place as Dovecot does (N in the header may then lag).
        """
        body = None
        cache = self._uidlist_cache
        if added is not None and cache is not None and cache[2] is not None:
            prev = cache[1]
            top = max(prev.records, default=0)
            if len(ul.records) == len(prev.records) + len(added) and all(u > top for u in added):
                new = format_records(ul, sorted(added))
                body = cache[2] + new
                same = (ul.uidvalidity, ul.guid, ul.header_extra)
                if same == (prev.uidvalidity, prev.guid, prev.header_extra):
                    if dl.append(new, cache[0]):
                        self._remember_uidlist(ul, body)
                        return
        if body is None:
            body = format_records(ul, sorted(ul.records))
        dl.replace(format_header(ul) + body)
        self._remember_uidlist(ul, body)

    def _remember_uidlist(self, ul: UidList, body: bytes) -> None:
        try:
            st = os.stat(self.uidlist_path)
        except FileNotFoundError:
            self._uidlist_cache = None
            return
        self._uidlist_cache = ((st.st_ino, st.st_mtime_ns, st.st_size), ul, body)

    def _index_uidvalidity(self) -> int:
        v = self.index.get_meta("uidvalidity")
        return int(v) if v else 0

    def _recover_uidlist(self, why: str) -> UidList:
        """Rebuild a lost or damaged uidlist from the index, keeping UIDs and UIDVALIDITY."""
        uv = self._index_uidvalidity()
        if uv:
            self.log(
                f"{self.uidlist_path} unusable ({why}); recreated from the index ({self.where()})"
            )
            nextuid = max([int(self.index.get_meta("uidnext") or 1)] + [u + 1 for u in self.rows])
            ul = UidList(uv, nextuid, secrets.token_hex(16))
            ul.records = {u: ("", base_of(r.name)) for u, r in sorted(self.rows.items())}
            return ul
        self.log(
            f"{self.uidlist_path} unusable ({why}) and no index to recover it from; "
            f"new UIDVALIDITY, clients will resync ({self.where()})"
        )
        return UidList(self._new_uidvalidity(), 1, secrets.token_hex(16))

    # ---------------------------------------------------------------- sync
    def refresh(self) -> list[int]:
        """Bring ``self.rows`` up to date with the index; returns UIDs with a bad CRC."""
        idx = self.index
        idx.begin_read()
        try:
            iid = idx.get_meta("index_id")
            hms = int(idx.get_meta("highestmodseq") or 0)
            uidnext = int(idx.get_meta("uidnext") or 1)
            uidvalidity = int(idx.get_meta("uidvalidity") or 0)
            full = iid != self._index_id
            if not full and hms == self._loaded_modseq:
                # No record changed, but the first scan of an empty mailbox still
                # creates its UIDVALIDITY (RFC 3501 9: nz-number, never 0).
                if (uidnext, uidvalidity) != (self.uidnext, self.uidvalidity):
                    self.uidnext, self.uidvalidity = uidnext, uidvalidity
                    self.version += 1
                return []
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
        else:
            for uid in self.state.vanished_since(self._loaded_modseq):
                self._drop_row(uid)
            memo = self.record_memo
            changed = self.changed_uids
            if changed is not None:
                changed.update(r.uid for r in rows)
            for r in rows:
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
        for uid in bad:
            self._drop_row(uid)
        self._loaded_modseq = self.highestmodseq = hms
        self.uidnext, self.uidvalidity = uidnext, uidvalidity
        self.version += 1
        for uid in bad:
            self.log(f"index record for UID {uid} has a bad CRC; rebuilding it from the file "
                     f"({self.where()})")  # fmt: skip
        return bad

    def _drop_row(self, uid: int) -> None:
        old = self.rows.pop(uid, None)
        self.record_memo.pop(uid, None)
        if old is not None:
            self.changed_uids = None
        self.in_new.discard(uid)
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
            idx = self.index
            subs = []
            now = self.clock()
            for sub in SUBDIRS:
                stored = idx.get_meta("stamp_" + sub)
                stamp = dir_stamp(os.path.join(self.path, sub))
                if force or bad or needs_listing(stored, stamp, now):
                    subs.append(sub)
            if subs:
                with self.locked():
                    self._scan(subs if not bad else list(SUBDIRS), set(bad))

    # ------------------------------------------------------ own changes
    def stamps_before(self, subs: Iterable[str]) -> dict[str, tuple[int, int, int] | None]:
        """Directory stamps before our own change; caller holds :meth:`locked`."""
        return {sub: dir_stamp(os.path.join(self.path, sub)) for sub in subs}

    def own_stamps(self, before: dict[str, tuple[int, int, int] | None]) -> dict[str, str]:
        """Index meta values recording our own change since ``before`` (see :mod:`.scan`).

        A directory that had changed behind our back gets no record, so the
        next sync lists it. Caller holds :meth:`locked` and writes the result
        in the same index transaction as the rows it changed.
        """
        idx = self.index
        out = {}
        for sub, b in before.items():
            after = dir_stamp(os.path.join(self.path, sub))
            value = own_change_stamp(idx.get_meta("stamp_" + sub), b, after)
            if value is not None:
                out["stamp_" + sub] = value
        return out

    def _scan(self, subs: list[str], bad: set[int]) -> None:
        from mailsuite.store.maildir.sync import scan

        scan(self, subs, bad)
