"""One open mailbox of one session: the ``Mailbox`` API over a shared :class:`MailboxCore`.

Every change follows the Maildir rules: new files are written in ``tmp/``,
fsynced and renamed into ``new/`` or ``cur/`` (then the directory is
fsynced) before a UID is returned; flags change by renaming; nothing is
rewritten in place. UIDs are assigned under Dovecot's uidlist lock.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO

from mailsuite.errors import ErrorKind, MailError
from mailsuite.store.api import (
    DELETED,
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

_WRITE_CHUNK_BYTES = 1 << 16
EXCLUSIVE_LOCK_FILE = "mailsuite-exclusive.lock"
PENDING_BLOBS_MAX = 256
MAX_INTERNAL_DATE = 253402300800.0  # 10000-01-01: IMAP date-time has four year digits


def _temp_error(what: str, e: OSError) -> MailError:
    return MailError(
        ErrorKind.TEMP,
        "Internal error occurred. Refer to server log for more information.",
        f"{what}: {e.strerror or e}",
    )


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
        if not self._readonly and core.in_new:
            from mailsuite.store.maildir.seen import move_seen_to_cur

            move_seen_to_cur(core)  # the client is about to hear of them (see .seen)
        with core.rlock:
            if not self._readonly:
                self._claim_recent()
            records = records_of(core)
            uids = {r.uid for r in records} if self._recent else set()
            self._recent &= uids
            return MailboxSnapshot(self._name, core.uidvalidity, core.uidnext, core.highestmodseq,
                                   records, frozenset(self._recent))  # fmt: skip

    def _claim_recent(self) -> None:
        # RFC 3501 2.3.2: a message is \Recent in exactly one session. The floor
        # moves in one SQLite write transaction, which other processes serialise on.
        core = self._core
        idx = core.index
        floor = int(idx.get_meta("recent_uid") or core.uidnext)
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
        self._recent.update(u for u in core.rows if u >= floor)

    def status(self) -> MailboxStatus:
        core = self._core
        core.sync()
        with core.rlock:
            floor = int(core.index.get_meta("recent_uid") or core.uidnext)
            rows = core.rows.values()
            return MailboxStatus(
                messages=len(core.rows),
                recent=sum(1 for u in core.rows if u >= floor) + len(self._recent),
                uidnext=core.uidnext,
                uidvalidity=core.uidvalidity,
                unseen=sum(1 for r in rows if "\\Seen" not in r.flags.split(" ")),
                highestmodseq=core.highestmodseq,
                size=sum(r.vsize for r in rows),
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
                return Envelope.from_json(blob)
            except ValueError as e:
                self._undecodable(uid, "env", e)
        return self.message(uid).envelope()

    def bodystructure(self, uid: int) -> BodyStructure:
        from mailsuite.message import BodyStructure

        blob = self._cached(uid, "bs")
        if blob is not None:
            try:
                return BodyStructure.from_json(blob)
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
        self._writable()
        fl = check_flags(flags)
        core = self._core
        if internal_date is not None and not 0 <= internal_date < MAX_INTERNAL_DATE:
            raise MailError(ErrorKind.PARAMS, "Invalid internal date", f"{internal_date!r}")
        if isinstance(data, bytes | bytearray | memoryview):
            self._check_quota(len(data))
        tmp = os.path.join(core.path, "tmp", core.names.new_base(0, 0).split(",")[0])
        builder = FactsBuilder()
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as e:
            raise _temp_error(f"create({tmp}) failed ({core.where()})", e) from None
        try:
            with os.fdopen(fd, "wb") as f:
                if isinstance(data, bytes | bytearray | memoryview):
                    builder.feed(bytes(data))
                    f.write(data)
                else:
                    while chunk := data.read(_WRITE_CHUNK_BYTES):
                        builder.feed(chunk)
                        f.write(chunk)
                f.flush()
                if core.fsync:
                    os.fsync(f.fileno())
            if internal_date is not None:
                # Maildir keeps INTERNALDATE as the file's mtime (as Dovecot does).
                os.utime(tmp, (internal_date, internal_date))
            facts = builder.result()
            self._check_quota(facts.psize)
            uid = self._commit_new(tmp, facts, fl)
        except OSError as e:
            raise _temp_error(f"saving a message failed ({core.where()})", e) from None
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        core.notify()
        return uid

    def _check_quota(self, size: int) -> None:
        q = self._core.quota
        if q is None or not (q.storage_limit or q.message_limit):
            return
        used, count = q.usage()
        if (q.storage_limit and used + size > q.storage_limit) or (
            q.message_limit and count + 1 > q.message_limit
        ):
            raise MailError(
                ErrorKind.NO_QUOTA,
                "Quota exceeded (mailbox for user is full)",
                f"quota exceeded: {used}+{size} bytes of {q.storage_limit}, {count}+1 messages "
                f"of {q.message_limit} ({self._core.where()})",
            )

    def _commit_new(self, tmp: str, facts: Any, flags: frozenset[str]) -> int:
        core = self._core
        base = core.names.new_base(facts.psize, facts.vsize)
        with core.locked():
            core.refresh()
            dl = DotLock.acquire(core.uidlist_path, fsync=core.fsync)
            try:
                ul, _ = core.load_uidlist()
                kwmap = core.keyword_letters(frozenset(f for f in flags if f not in SYSTEM_FLAGS))
                letters = letters_for(flags, kwmap.get)
                sub = "cur" if letters else "new"
                name = join_name(base, letters) if letters else base
                final = os.path.join(core.path, sub, name)
                before = core.stamps_before((sub,))
                # rename is atomic within one file system; tmp/ and new/ share it.
                os.rename(tmp, final)
                if core.fsync:
                    fsync_dir(os.path.join(core.path, sub))
                stamps = core.own_stamps(before)
                uid = ul.nextuid
                ul.nextuid += 1
                ul.records[uid] = ("", base)
                ms = int(core.index.get_meta("highestmodseq") or 0) + 1
                st = core.state
                st.begin()
                st.reserve_modseq(ms)
                st.add_hashes([(uid, facts.sha1, facts.psize)])
                st.commit()
                core.write_uidlist(dl, ul, added=[uid])
            finally:
                dl.release()
            idate = os.stat(final).st_mtime
            row = IndexRow(uid, name, sub, " ".join(sorted(flags)), ms, facts.psize, facts.vsize,
                           idate)  # fmt: skip
            blobs = [(uid, "hdr", header_blob(facts.header))]
            blobs += [(uid, k, v) for k, v in self._parse_file(final).items()]
            self._commit_rows([row], blobs, ms, uidnext=ul.nextuid, uidvalidity=ul.uidvalidity,
                              stamps=stamps)  # fmt: skip
        if core.quota is not None:
            core.quota.add(facts.psize, 1)
        return uid

    def _parse_file(self, path: str) -> dict[str, bytes]:
        def read() -> Any:
            from mailsuite.message import Message

            return Message.from_path(path)

        return parse_blobs(read)

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
        core = self._core
        idx = core.index
        idx.begin()
        try:
            idx.upsert(rows)
            idx.delete(deleted)
            idx.put_blobs(blobs)
            idx.set_meta("highestmodseq", ms)
            for key, value in (stamps or {}).items():
                # Our own renames/creates: the next sync need not list these directories.
                idx.set_meta(key, value)
            if uidnext is not None:
                idx.set_meta("uidnext", uidnext)
            if uidvalidity is not None:
                idx.set_meta("uidvalidity", uidvalidity)
            idx.commit()
        except BaseException:
            idx.rollback()
            raise
        core.refresh()

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
        core.sync()
        with core.locked():
            core.refresh()
            existing = {k.lower(): k for k in core.keywords() if k}
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
            ms = int(core.index.get_meta("highestmodseq") or 0) + 1
            kws_all = core.keywords()
            letter_of = {k: chr(97 + i) for i, k in enumerate(kws_all) if k}
            letter_of.update(kwmap)
            changed: list[IndexRow] = []
            modified: list[int] = []
            missing: list[int] = []
            extra: tuple[MessageRecord, ...] = ()
            before = core.stamps_before(SUBDIRS)
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
                    os.rename(core.file_path(row), os.path.join(core.path, "cur", name))
                except FileNotFoundError:
                    missing.append(uid)  # renamed or removed by someone else since our sync
                    continue
                changed.append(IndexRow(uid, name, "cur", " ".join(sorted(new)), ms, row.psize,
                                        row.vsize, row.idate))  # fmt: skip
            if changed:
                st = core.state
                st.begin()
                st.reserve_modseq(ms)
                st.commit()
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
        core.sync()
        with core.locked():
            core.refresh()
            rows = [
                r
                for u, r in sorted(core.rows.items())
                if DELETED in r.flags.split(" ") and (only is None or u in only)
            ]
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
                    fsync_dir(os.path.join(core.path, sub))
            ms = int(core.index.get_meta("highestmodseq") or 0) + 1
            st = core.state
            st.begin()
            st.reserve_modseq(ms)
            st.add_vanished((r.uid, ms) for r in rows)
            st.commit()
            core.write_uidlist(dl, ul)
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


def _message_from(f: BinaryIO) -> Message:
    from mailsuite.message import Message

    return Message.from_file(f)


def records_of_rows(rows: list[IndexRow]) -> tuple[MessageRecord, ...]:
    from mailsuite.store.maildir.records import record_of

    return tuple(record_of(r) for r in rows)
