"""COPY (and the first half of MOVE) between two Maildir mailboxes.

Message files never change, so a copy is a hard link under a new unique
name (Dovecot's ``maildir_copy_with_hardlinks``); only when linking is not
possible (another file system, a link limit) is the file copied through
``tmp/`` with an fsync. The destination's UIDs are assigned under its
uidlist lock; the source's hashes and cached blobs come along.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from mailsuite.errors import ErrorKind, MailError
from mailsuite.store.api import SYSTEM_FLAGS, CopyResult
from mailsuite.store.maildir.filenames import join_name, letters_for
from mailsuite.store.maildir.index import IndexRow
from mailsuite.store.maildir.locks import DotLock, fsync_dir

if TYPE_CHECKING:
    from mailsuite.store.maildir.mailbox import MaildirMailbox

__all__ = ["copy_messages"]

_LINK_FALLBACK_ERRNOS = {errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EACCES}


def _place(src: str, dest_dir: str, tmp_dir: str, name: str, fsync: bool) -> None:
    dst = os.path.join(dest_dir, name)
    try:
        os.link(src, dst)
        return
    except OSError as e:
        if e.errno not in _LINK_FALLBACK_ERRNOS:
            raise
    tmp = os.path.join(tmp_dir, name.partition(":")[0])
    shutil.copy2(src, tmp)  # copy2 keeps the mtime, i.e. the INTERNALDATE
    if fsync:
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
    os.rename(tmp, dst)


def copy_messages(src: MaildirMailbox, uids: Iterable[int], dest: Any) -> CopyResult:
    """Copy the messages ``uids`` of ``src`` into ``dest``; returns the UID pairs.

    Raises:
        MailError: PERM when ``dest`` is read-only, NOT_POSSIBLE for a
            destination that is not a Maildir mailbox of this store.
    """
    from mailsuite.store.maildir.mailbox import MaildirMailbox

    if not isinstance(dest, MaildirMailbox):
        raise MailError(ErrorKind.NOT_POSSIBLE, "Cannot copy to that mailbox")
    if dest.readonly:
        raise MailError(ErrorKind.PERM, "Destination mailbox is read-only")
    sc, dc = src.core, dest.core
    sc.sync()
    with sc.rlock:
        rows = [sc.rows[u] for u in sorted(set(uids)) if u in sc.rows]
        hashes = {r.uid: sc.state.hash_of(r.uid) for r in rows}
        blobs = {}
        for r in rows:
            for kind in ("hdr", "env", "bs"):
                b, _bad = sc.index.get_blob(r.uid, kind)
                if b is not None:
                    blobs[(r.uid, kind)] = b
        paths = {r.uid: sc.file_path(r) for r in rows}
    if not rows:
        dc.sync()
        return CopyResult(dc.uidvalidity, ())
    pairs: list[tuple[int, int]] = []
    new_rows: list[IndexRow] = []
    new_blobs: list[tuple[int, str, bytes]] = []
    new_hashes: list[tuple[int, str, int]] = []
    dirs: set[str] = set()
    dc.sync()
    with dc.locked():
        dc.refresh()
        dl = DotLock.acquire(dc.uidlist_path, fsync=dc.fsync)
        try:
            ul, _ = dc.load_uidlist()
            kws = frozenset(
                f for r in rows for f in r.flags.split(" ") if f and f not in SYSTEM_FLAGS
            )
            kwmap = dc.keyword_letters(kws)
            ms = int(dc.index.get_meta("highestmodseq") or 0) + 1
            before = dc.stamps_before(("new", "cur"))
            for r in rows:
                flags = frozenset(r.flags.split(" ")) - {""}
                letters = letters_for(flags, kwmap.get)
                base = dc.names.new_base(r.psize, r.vsize)
                sub = "cur" if letters else "new"
                name = join_name(base, letters) if letters else base
                try:
                    _place(paths[r.uid], os.path.join(dc.path, sub), os.path.join(dc.path, "tmp"),
                           name, dc.fsync)  # fmt: skip
                except FileNotFoundError:
                    # Renamed by a flag change since we looked: find its current name once.
                    with sc.rlock:
                        sc.refresh()
                        cur = sc.rows.get(r.uid)
                        if cur is None:
                            continue
                        path = sc.file_path(cur)
                    try:
                        _place(path, os.path.join(dc.path, sub), os.path.join(dc.path, "tmp"),
                               name, dc.fsync)  # fmt: skip
                    except FileNotFoundError:
                        continue
                dirs.add(sub)
                uid = ul.nextuid
                ul.nextuid += 1
                ul.records[uid] = ("", base)
                pairs.append((r.uid, uid))
                new_rows.append(IndexRow(uid, name, sub, " ".join(sorted(flags)), ms, r.psize,
                                         r.vsize, r.idate))  # fmt: skip
                h = hashes.get(r.uid)
                if h is not None:
                    new_hashes.append((uid, h[0], h[1]))
                new_blobs += [(uid, k, b) for (u, k), b in blobs.items() if u == r.uid]
            if dc.fsync:
                for sub in dirs:
                    fsync_dir(os.path.join(dc.path, sub))
            st = dc.state
            st.begin()
            st.reserve_modseq(ms)
            st.add_hashes(new_hashes)
            st.commit()
            dc.write_uidlist(dl, ul, added=[d for _s, d in pairs])
            stamps = dc.own_stamps(before)
        finally:
            dl.release()
        if new_rows:
            dest._commit_rows(new_rows, new_blobs, ms, uidnext=ul.nextuid,
                              uidvalidity=ul.uidvalidity, stamps=stamps)  # fmt: skip
    if dc.quota is not None and new_rows:
        dc.quota.add(sum(r.psize for r in new_rows), len(new_rows))
    if new_rows:
        dc.notify()
    return CopyResult(ul.uidvalidity, tuple(pairs))
