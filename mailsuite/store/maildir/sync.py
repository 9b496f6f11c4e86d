"""Sync: reconcile what is in ``new/`` and ``cur/`` with the index and ``dovecot-uidlist``.

Runs under the mailbox's locks when a directory stamp changed. Files whose
name the index already knows cost one dict lookup; only new or renamed
files are parsed; a file new to us is read (SHA-1, CRLF size, header cache)
only when its name lacks ``,W=`` (the CRLF size): otherwise the name and one
``stat`` give its record, and its SHA-1 is recorded by ``mailsuite index check``.
Every change gets one new MODSEQ; removed files become VANISHED.
"""

from __future__ import annotations

import os
import stat
import time
from typing import TYPE_CHECKING

from mailsuite.store.maildir.facts import facts_of_file, header_blob
from mailsuite.store.maildir.filenames import parse_name
from mailsuite.store.maildir.index import IndexRow
from mailsuite.store.maildir.locks import DotLock
from mailsuite.store.maildir.records import gc_paused
from mailsuite.store.maildir.scan import SUBDIRS, Listing, list_names, listed_stamp

if TYPE_CHECKING:
    from mailsuite.store.maildir.core import MailboxCore

__all__ = ["scan", "clean_tmp"]

TMP_MAX_AGE_S = 36 * 3600.0
TMP_CLEAN_INTERVAL_S = 3600.0
_HASHES_BULK_AT = 64  # load all hashes at once when this many files are new to the index


def base_of(name: str) -> str:
    return name.partition(":")[0]


def scan(core: MailboxCore, subs: list[str], bad: set[int]) -> None:
    """List ``subs``, reconcile them with index and uidlist; caller holds ``core.locked()``."""
    # A first scan of a big mailbox makes ~10 objects per message that all live on.
    with gc_paused():
        _scan(core, subs, bad)


def _scan(core: MailboxCore, subs: list[str], bad: set[int]) -> None:
    core.refresh()
    dl = DotLock.acquire(core.uidlist_path, fsync=core.fsync)
    try:
        ul, ul_changed = core.load_uidlist()
        idx = core.index
        if core.uidvalidity and ul.uidvalidity != core.uidvalidity and core.rows:
            # Someone (Dovecot after a corruption) started over: our records are void.
            core.log(f"UIDVALIDITY changed {core.uidvalidity} -> {ul.uidvalidity}; "
                     f"dropping old index records ({core.where()})")  # fmt: skip
            bad |= set(core.rows)
            core.rows.clear()
            core.by_name.clear()
            core.record_memo.clear()
            core.changed_uids = None
            subs = list(SUBDIRS)
        stamps = {}
        stored = {sub: idx.get_meta("stamp_" + sub) for sub in subs}
        unmatched: Listing = {}
        seen: set[int] = set()
        rows, by_name = core.rows, core.by_name
        for sub in subs:
            names, stamps[sub] = list_names(core.path, sub)
            for name in names:
                uid_seen = by_name.get(name)
                if uid_seen is not None and rows[uid_seen].dir == sub:
                    seen.add(uid_seen)  # the common case: nothing to parse or compare
                else:
                    p = parse_name(name)
                    # "cur" after "new": a file in both (a crash mid-move) counts as in cur/
                    unmatched[p.base] = (sub, name, p)
        for uid in seen - ul.records.keys():
            ul.records[uid] = ("", base_of(core.rows[uid].name))  # heal a lost uidlist line
            ul.nextuid = max(ul.nextuid, uid + 1)
            ul_changed = True
        kws = core.keywords()
        rows_by_base = {
            base_of(r.name): r for u, r in core.rows.items() if u not in seen
        } if unmatched else {}  # fmt: skip
        ul_by_base = ul.by_base() if unmatched else {}
        ms = int(idx.get_meta("highestmodseq") or 0) + 1
        upserts: list[IndexRow] = []
        hashes: list[tuple[int, str, int]] = []
        blobs: list[tuple[int, str, bytes]] = []
        added_size = added_count = 0
        # Files that will be read (no ,W= in the name) and may need their hash looked up.
        fresh = [
            b for b, (_sub, _n, p) in unmatched.items() if b not in rows_by_base and p.vsize is None
        ]
        hashed = core.state.hashed_uids() if len(fresh) >= _HASHES_BULK_AT else None
        flags_by_letters: dict[str, str] = {}  # few distinct letter sets: compute each once
        for n, (base, (sub, name, p)) in enumerate(unmatched.items()):
            if n % 1000 == 999:
                dl.touch()  # a long first scan must not look like a stale lock to Dovecot
            row = rows_by_base.get(base)
            if row is not None:
                # Renamed (flags changed, or moved new/ -> cur/) by someone else.
                seen.add(row.uid)
                if row.uid not in ul.records:
                    ul.records[row.uid] = ("", base)
                    ul.nextuid = max(ul.nextuid, row.uid + 1)
                    ul_changed = True
                flags = core.flags_of(p.letters, kws)
                upserts.append(row._replace(dir=sub, name=name, flags=flags, modseq=ms))
                continue
            full = f"{core.path}/{sub}/{name}"
            try:
                st = os.stat(full)
            except FileNotFoundError:
                continue
            if not stat.S_ISREG(st.st_mode):
                continue  # a stray directory or device is not a message: no UID for it
            found = ul_by_base.get(base)
            psize = p.size if p.size is not None else st.st_size
            vsize = p.vsize
            facts = None
            known = True  # a SHA-1 is recorded (or the file is not read now)
            if vsize is None:
                # Only a name without ",W=" makes us read the file (for its CRLF size).
                # A listed file is never read just to hash it: a first SELECT of a big
                # Maildir filled by Dovecot, mutt or a migration reads names only, as
                # Dovecot does; `mailsuite index check` records the missing SHA-1s.
                if found is not None:
                    known = found in hashed if hashed is not None else (
                        core.state.hash_of(found) is not None
                    )  # fmt: skip
                else:
                    known = False
                try:
                    facts = facts_of_file(full)
                except OSError as e:
                    # Unreadable now (EIO, permissions): looked at again at the next sync;
                    # a UID it already has is kept, a new one is not spent.
                    if found is not None:
                        seen.add(found)
                    core.log(f"cannot read {full}: {e.strerror} ({core.where()})")
                    continue
                psize, vsize = facts.psize, facts.vsize
            if found is not None:
                uid = found
            else:
                uid = ul.nextuid
                ul.nextuid += 1
                ul.records[uid] = ("", base)
                ul_changed = True
                added_size += psize  # a new message, not one Dovecot counted
                added_count += 1
            if facts is not None:
                if not known:
                    hashes.append((uid, facts.sha1, facts.psize))
                blobs.append((uid, "hdr", header_blob(facts.header)))
            flags_s = flags_by_letters.get(p.letters)
            if flags_s is None:
                flags_s = flags_by_letters[p.letters] = core.flags_of(p.letters, kws)
            seen.add(uid)
            upserts.append(IndexRow(uid, name, sub, flags_s, ms, psize, vsize, st.st_mtime))
        readded = {r.uid for r in upserts}
        gone = [rows[u] for u in sorted(rows.keys() - seen) if rows[u].dir in subs]
        gone_uids = [r.uid for r in gone] + [u for u in bad if u not in readded]
        for uid in gone_uids:
            if ul.records.pop(uid, None) is not None:
                ul_changed = True
        if len(subs) == len(SUBDIRS):
            # Lines for files that no longer exist anywhere (Dovecot drops them too).
            # They are expunges too (e.g. while the index was deleted): QRESYNC must hear.
            for uid in [u for u in ul.records if u not in seen]:
                del ul.records[uid]
                ul_changed = True
                gone_uids.append(uid)
        changed = bool(upserts or gone_uids)
        if changed or hashes:
            st_db = core.state
            st_db.begin()
            try:
                st_db.reserve_modseq(ms)
                st_db.add_hashes(hashes)
                st_db.add_vanished((u, ms) for u in gone_uids)
                st_db.commit()
            except BaseException:
                st_db.rollback()
                raise
        if ul_changed:
            core.write_uidlist(dl, ul)
        else:
            dl.release()
        idx.begin()
        try:
            idx.upsert(upserts)
            idx.delete(gone_uids)
            idx.put_blobs(blobs)
            if changed:
                idx.set_meta("highestmodseq", ms)
            idx.set_meta("uidvalidity", ul.uidvalidity)
            idx.set_meta("uidnext", ul.nextuid)
            if idx.get_meta("recent_uid") is None:
                idx.set_meta("recent_uid", ul.nextuid)
            for sub in subs:
                idx.set_meta(
                    "stamp_" + sub, listed_stamp(stored.get(sub), stamps[sub], core.clock())
                )
            idx.commit()
        except BaseException:
            idx.rollback()
            raise
    finally:
        dl.release()
    removed = sum(r.psize for r in gone)
    if core.quota is not None and (added_count or gone):
        core.quota.add(added_size - removed, added_count - len(gone))
    core.refresh()
    if changed:
        core.notify()
    clean_tmp(core.path)


_last_tmp_clean: dict[str, float] = {}


def clean_tmp(path: str, now: float | None = None) -> int:
    """Remove files left in ``tmp/`` by crashed writers (Maildir spec: after 36 hours).

    Runs at most once an hour per mailbox; returns how many files were removed.
    """
    now = time.time() if now is None else now
    if now - _last_tmp_clean.get(path, 0.0) < TMP_CLEAN_INTERVAL_S:
        return 0
    _last_tmp_clean[path] = now
    removed = 0
    try:
        entries = list(os.scandir(os.path.join(path, "tmp")))
    except FileNotFoundError:
        return 0
    for e in entries:
        try:
            if e.is_file() and now - e.stat().st_mtime > TMP_MAX_AGE_S:
                os.unlink(e.path)
                removed += 1
        except FileNotFoundError:
            pass
    return removed
