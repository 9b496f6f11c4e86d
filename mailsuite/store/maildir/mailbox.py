"""One open mailbox of one session: the ``Mailbox`` API over a shared :class:`MailboxCore`.

Every change follows the Maildir rules: new files are written in ``tmp/``,
fsynced and renamed into ``new/`` or ``cur/`` (then the directory is
fsynced) before a UID is returned; flags change by renaming; nothing is
rewritten in place. UIDs are assigned under Dovecot's uidlist lock.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO

from mailsuite.errors import ErrorKind, MailError
from mailsuite.store.api import (
    DELETED,
    SEEN,
    SYSTEM_FLAGS,
    CopyResult,
    FlagMode,
    FlagUpdate,
    MailboxSnapshot,
    MailboxStatus,
    MessageRecord,
)
from mailsuite.store.maildir.core import MailboxCore
from mailsuite.store.maildir.facts import FactsBuilder, header_blob, parse_blobs
from mailsuite.store.maildir.filenames import join_name, letters_for, parse_name
from mailsuite.store.maildir.index import IndexRow
from mailsuite.store.maildir.locks import DotLock, fsync_dir, try_flock
from mailsuite.store.maildir.records import check_flags, records_of
from mailsuite.store.maildir.scan import SUBDIRS

if TYPE_CHECKING:
    from mailsuite.message import BodyStructure, Envelope, Message

__all__ = ["MaildirMailbox"]

EXCLUSIVE_LOCK_FILE = "mailsuite-exclusive.lock"
PENDING_BLOBS_MAX = 256


class MaildirMailbox:
    """A session's handle on one mailbox (implements :class:`mailsuite.store.api.Mailbox`)."""

    def __init__(
        self, core: MailboxCore, name: str, readonly: bool, on_close: Callable[[], None]
    ) -> None:
        self._core = core
        self._name = name
        self._readonly = readonly
        self._on_close = on_close
        self._recent: set[int] = set()
        self._closed = False

    @property
    def name(self) -> str:
        return self._name

    @property
    def key(self) -> str:
        return self._core.path

    @property
    def readonly(self) -> bool:
        return self._readonly

    @property
    def core(self) -> MailboxCore:
        return self._core

    def _writable(self) -> None:
        if self._readonly:
            raise MailError(
                ErrorKind.PERM, "Mailbox is read-only", f"{self._core.where()} read-only"
            )

    # ------------------------------------------------------------- reading
    def snapshot(self) -> MailboxSnapshot:
        core = self._core
        core.sync()
        claimed = None
        if not self._readonly and core.in_new:
            from mailsuite.store.maildir.seen import move_seen_to_cur

            # The client is about to hear of them (see .seen); the \Recent claim
            # rides along in the same index transaction.
            move_seen_to_cur(core, claim_recent=True)
            claimed = core.claimed_floor
        with core.rlock:
            records = records_of(core)
            if not self._readonly:
                if claimed is not None:
                    self._add_recent(records, claimed)
                self._claim_recent(records)
            if self._recent:
                rows = core.rows
                self._recent = {u for u in self._recent if u in rows}
            return MailboxSnapshot(self._name, core.uidvalidity, core.uidnext, core.highestmodseq,
                                   records, frozenset(self._recent))  # fmt: skip

    def _add_recent(self, records: tuple[MessageRecord, ...], floor: int) -> None:
        # records is sorted by UID: the recent ones are its tail.
        i = bisect.bisect_left(records, floor, key=_uid_of)
        self._recent.update(r.uid for r in records[i:])

    def _claim_recent(self, records: tuple[MessageRecord, ...]) -> None:
        # RFC 3501 2.3.2: a message is \Recent in exactly one session. The floor
        # moves in one SQLite write transaction, which other processes serialise on.
        core = self._core
        idx = core.index
        # The meta table as the sync just read it; re-read inside the write transaction.
        floor = int(idx.meta.get("recent_uid") or core.uidnext)
        if floor >= core.uidnext:
            return
        idx.begin()
        try:
            floor = int(idx.get_meta("recent_uid") or core.uidnext)
            idx.set_meta("recent_uid", max(floor, core.uidnext))
            idx.commit()
        except BaseException:
            idx.rollback()
            raise
        self._add_recent(records, floor)

    def status(self) -> MailboxStatus:
        core = self._core
        core.sync()
        with core.rlock:
            floor = int(core.index.meta.get("recent_uid") or core.uidnext)  # as synced
            memo = core.status_memo
            if memo is None or memo[:2] != (core.version, floor):
                # Counted once per change of the records, not at every STATUS/LIST-STATUS.
                # No keyword contains a backslash (RFC 3501 atom): the test finds \Seen only.
                rows = core.rows.values()
                memo = core.status_memo = (
                    core.version,
                    floor,
                    sum(1 for u in core.rows if u >= floor),
                    sum(1 for r in rows if SEEN not in r.flags),
                    sum(r.vsize for r in rows),
                )
            return MailboxStatus(
                messages=len(core.rows),
                recent=memo[2] + len(self._recent),
                uidnext=core.uidnext,
                uidvalidity=core.uidvalidity,
                unseen=memo[3],
                highestmodseq=core.highestmodseq,
                size=memo[4],
            )

    def vanished_since(self, modseq: int) -> list[int]:
        with self._core.rlock:
            return self._core.state.vanished_since(modseq)

    def open_message(self, uid: int) -> BinaryIO:
        core = self._core
        for attempt in range(3):
            with core.rlock:
                if attempt == 1:
                    core.refresh()
                elif attempt == 2:
                    core.sync()
                row = core.rows.get(uid)
                if row is None:
                    break
                path = core.file_path(row)
            try:
                return open(path, "rb")
            except FileNotFoundError:
                continue  # renamed (flags) or removed by someone else: look again
        raise MailError(
            ErrorKind.EXPUNGED, "Message was expunged", f"UID {uid} gone ({core.where()})"
        )

    def message(self, uid: int) -> Message:
        from mailsuite.message import Message

        return Message.from_file(self.open_message(uid))

    def _cached(self, uid: int, kind: str) -> bytes | None:
        """A cached blob, rebuilt from the message file when missing or damaged."""
        core = self._core
        with core.rlock:
            blob = core.pending_blobs.get((uid, kind))
            if blob is not None:
                return blob
            blob, bad = core.cached_blob(uid, kind)
        if blob is not None:
            return blob
        if bad:
            core.log(f"cached {kind} of UID {uid} has a bad CRC; rebuilt from the message file "
                     f"({core.where()})")  # fmt: skip
        with self.open_message(uid) as f:
            if kind == "hdr":
                b = FactsBuilder()
                b.feed(f.read(1 << 20))
                made = {"hdr": header_blob(b.result().header)}
            else:
                made = parse_blobs(lambda: _message_from(f))
                if made:
                    # The file is open and its header in the page cache: cache the header
                    # fields too, or a SEARCH/SORT after the first FETCH ENVELOPE of a
                    # mailbox listed by name only would read every file again.
                    f.seek(0)
                    b = FactsBuilder()
                    b.feed(f.read(1 << 20))
                    made["hdr"] = header_blob(b.result().header)
        if kind not in made:
            return None
        with core.rlock:
            # Written behind, in batches: a FETCH ENVELOPE over a whole uncached
            # mailbox costs one transaction per PENDING_BLOBS_MAX messages.
            core.pending_blobs.update({(uid, k): v for k, v in made.items()})
            if len(core.pending_blobs) >= PENDING_BLOBS_MAX:
                core.flush_blobs()
        return made[kind]

    def header_fields(self, uid: int) -> dict[str, list[str]]:
        """The cached common header fields (lower-case names, raw unfolded values)."""
        import json

        blob = self._cached(uid, "hdr")
        return json.loads(blob) if blob else {}

    def envelope(self, uid: int) -> Envelope:
        from mailsuite.message import Envelope

        blob = self._cached(uid, "env")
        if blob is not None:
            try:
                return Envelope.from_blob(blob)
            except ValueError as e:
                self._undecodable(uid, "env", e)
        return self.message(uid).envelope()

    def bodystructure(self, uid: int) -> BodyStructure:
        from mailsuite.message import BodyStructure

        blob = self._cached(uid, "bs")
        if blob is not None:
            try:
                return BodyStructure.from_blob(blob)
            except ValueError as e:
                self._undecodable(uid, "bs", e)
        return self.message(uid).bodystructure()

    def _undecodable(self, uid: int, kind: str, e: ValueError) -> None:
        """A cached blob with a good CRC that this version cannot read (an older format)."""
        core = self._core
        core.log(f"cached {kind} of UID {uid} cannot be read ({e}); using the message file "
                 f"and dropping the cached copy ({core.where()})")  # fmt: skip
        with core.rlock:
            core.pending_blobs.pop((uid, kind), None)
            idx = core.index
            idx.begin()
            try:
                idx.delete_blobs([(uid, kind)])
                idx.commit()
            except BaseException:
                idx.rollback()
                raise

    # ------------------------------------------------------------- writing
    def append(
        self,
        data: bytes | BinaryIO,
        flags: Iterable[str] = (),
        internal_date: float | None = None,
    ) -> int:
        from mailsuite.store.maildir.append import append_message

        self._writable()
        return append_message(self._core, data, check_flags(flags), internal_date)

    def _commit_rows(
        self,
        rows: list[IndexRow],
        blobs: list[tuple[int, str, bytes]],
        ms: int,
        *,
        deleted: Sequence[int] = (),
        uidnext: int | None = None,
        uidvalidity: int | None = None,
        stamps: dict[str, str] | None = None,
    ) -> None:
        """Write our own change to the index; caller holds ``core.locked()`` (``commit_rows``)."""
        meta: dict[str, object] = dict(stamps or {})
        if uidnext is not None:
            meta["uidnext"] = uidnext
        if uidvalidity is not None:
            meta["uidvalidity"] = uidvalidity
        self._core.commit_rows(rows, blobs, ms, deleted, meta)

    def set_flags(
        self,
        uids: Iterable[int],
        flags: Iterable[str],
        mode: FlagMode,
        unchanged_since: int | None = None,
        _retry: bool = True,
    ) -> FlagUpdate:
        self._writable()
        fl = check_flags(flags)
        core = self._core
        wanted = sorted(set(uids))
        with core.locked():
            # One sync under the lock: it is also the refresh the change starts from.
            core.sync()
            kws_all = core.keywords()
            existing = {k.lower(): k for k in kws_all if k}
            # Keywords match case-insensitively an existing spelling (RFC 3501 2.3.2).
            fl = frozenset(existing.get(f.lower(), f) if f not in SYSTEM_FLAGS else f for f in fl)
            kwmap: dict[str, str] = {}
            if mode is not FlagMode.REMOVE:
                kws = frozenset(f for f in fl if f not in SYSTEM_FLAGS)
                if kws:
                    dl = DotLock.acquire(core.uidlist_path, fsync=core.fsync)
                    try:
                        kwmap = core.keyword_letters(kws)
                    finally:
                        dl.release()
                    kws_all = core.keywords()
            ms = int(core.index.meta.get("highestmodseq") or 0) + 1  # refreshed under the lock
            letter_of = {k: chr(97 + i) for i, k in enumerate(kws_all) if k}
            letter_of.update(kwmap)
            changed: list[IndexRow] = []
            modified: list[int] = []
            missing: list[int] = []
            extra: tuple[MessageRecord, ...] = ()
            before = core.stamps_before(SUBDIRS)
            cur_dir = core.sub_paths["cur"]
            for uid in wanted:
                row = core.rows.get(uid)
                if row is None:
                    continue
                if unchanged_since is not None and row.modseq > unchanged_since:
                    modified.append(uid)  # RFC 7162 3.2: fails UNCHANGEDSINCE
                    continue
                cur = frozenset(row.flags.split(" ")) - {""}
                if mode is FlagMode.ADD:
                    new = cur | fl
                elif mode is FlagMode.REMOVE:
                    new = cur - fl
                else:
                    new = fl
                if new == cur:
                    continue
                p = parse_name(row.name)
                name = join_name(p.base, letters_for(new, letter_of.get, keep=p.letters))
                try:
                    os.rename(core.file_path(row), os.path.join(cur_dir, name))
                except FileNotFoundError:
                    missing.append(uid)  # renamed or removed by someone else since our sync
                    continue
                changed.append(IndexRow(uid, name, "cur", " ".join(sorted(new)), ms, row.psize,
                                        row.vsize, row.idate))  # fmt: skip
            if changed:
                core.state.reserve_modseq(ms)  # no statement while under the known ceiling
                stamps = core.own_stamps(before) if not missing else None
                self._commit_rows(changed, [], ms, stamps=stamps)
            if missing and _retry:
                # Look again once: a message renamed by another agent gets the change
                # (or, under UNCHANGEDSINCE, is reported modified, as RFC 7162 wants).
                core.sync(force=True)
                again = self.set_flags(missing, fl, mode, unchanged_since, _retry=False)
                extra = again.changed
                modified += again.modified
        if changed:
            core.notify()
        records = sorted(records_of_rows(changed) + extra, key=lambda r: r.uid)
        return FlagUpdate(tuple(records), tuple(sorted(modified)))

    def expunge(self, uids: Iterable[int] | None = None) -> list[int]:
        self._writable()
        core = self._core
        only = None if uids is None else set(uids)
        with core.locked():
            core.sync()  # under the lock: also the refresh the expunge starts from
            # Flags are space-separated and no keyword contains a backslash
            # (RFC 3501 atom), so a substring test finds exactly \Deleted.
            rows = [
                row
                for u in core.deleted
                if (row := core.rows.get(u)) is not None
                and DELETED in row.flags
                and (only is None or u in only)
            ]
            rows.sort()
            done = self._remove(rows)
        if done:
            core.notify()
        return done

    def _remove(self, rows: list[IndexRow]) -> list[int]:
        """Delete message files and their UIDs; caller holds ``core.locked()``."""
        if not rows:
            return []
        core = self._core
        dl = DotLock.acquire(core.uidlist_path, fsync=core.fsync)
        try:
            ul, _ = core.load_uidlist()
            before: dict[str, tuple[int, int, int] | None] | None = core.stamps_before(
                {r.dir for r in rows}
            )
            for r in rows:
                try:
                    os.unlink(core.file_path(r))
                except FileNotFoundError:
                    _unlink_renamed(core.path, r.name.partition(":")[0])
                    before = None  # renamed by someone else: let the next sync list
                ul.records.pop(r.uid, None)
            if core.fsync:
                for sub in {r.dir for r in rows}:
                    fsync_dir(core.sub_paths[sub])
            ms = int(core.index.meta.get("highestmodseq") or 0) + 1  # refreshed under the lock
            st = core.state
            st.begin()
            try:
                st.reserve_modseq(ms)
                st.add_vanished((r.uid, ms) for r in rows)
                st.commit()
            except BaseException:
                st.rollback()
                raise
            core.write_uidlist(dl, ul, removed=[r.uid for r in rows])
            stamps = core.own_stamps(before) if before is not None else None
        finally:
            dl.release()
        self._commit_rows([], [], ms, deleted=[r.uid for r in rows], stamps=stamps)
        if core.quota is not None:
            core.quota.add(-sum(r.psize for r in rows), -len(rows))
        return [r.uid for r in rows]

    def copy(self, uids: Iterable[int], dest: Any) -> CopyResult:
        from mailsuite.store.maildir.transfer import copy_messages

        return copy_messages(self, uids, dest)

    def move(self, uids: Iterable[int], dest: Any) -> CopyResult:
        self._writable()
        res = self.copy(uids, dest)
        core = self._core
        moved = {s for s, _d in res.pairs}
        with core.locked():
            core.refresh()
            done = self._remove([r for u, r in sorted(core.rows.items()) if u in moved])
        if done:
            core.notify()
        return res

    # --------------------------------------------------------------- misc
    def acquire_exclusive(self, purpose: str) -> Callable[[], None] | None:
        return try_flock(os.path.join(self._core.path, EXCLUSIVE_LOCK_FILE))

    def watch_paths(self) -> Sequence[str]:
        # Every change to the mail is a create, rename or unlink in new/ or cur/; the
        # mailbox directory itself also holds the index, whose writes must not wake IDLE.
        p = self._core.path
        return [os.path.join(p, "new"), os.path.join(p, "cur")]

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._on_close()


def _unlink_renamed(path: str, base: str) -> None:
    """Remove a message another agent renamed since our last sync (rare: lists both dirs).

    Left alone it would come back at the next sync under a new UID.
    """
    for sub in ("cur", "new"):
        for name in os.listdir(os.path.join(path, sub)):
            if name.partition(":")[0] == base:
                try:
                    os.unlink(os.path.join(path, sub, name))
                except FileNotFoundError:
                    pass


def _uid_of(rec: MessageRecord) -> int:
    return rec.uid


def _message_from(f: BinaryIO) -> Message:
    from mailsuite.message import Message

    return Message.from_file(f)


def records_of_rows(rows: list[IndexRow]) -> tuple[MessageRecord, ...]:
    from mailsuite.store.maildir.records import record_of

    return tuple(record_of(r) for r in rows)
