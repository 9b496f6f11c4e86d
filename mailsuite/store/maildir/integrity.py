"""``index check`` and ``index rebuild``: verify every CRC and file hash, repair what can be.

What can be rebuilt is rebuilt (an index record from the file name and the
uidlist, a cached blob from the message file). A message file whose SHA-1
no longer matches the one recorded at delivery cannot be repaired by us: it
is reported and logged, and left in place for the admin (never dropped).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from mailsuite.store.maildir.facts import facts_of_file
from mailsuite.store.maildir.mailbox import MaildirMailbox
from mailsuite.store.maildir.scan import SUBDIRS

__all__ = ["CheckReport", "check_mailbox", "rebuild_mailbox"]


@dataclass
class CheckReport:
    mailbox: str
    messages: int = 0
    problems: list[str] = field(default_factory=list)  # one line each, for admin and log
    repaired: int = 0
    damaged_files: list[str] = field(default_factory=list)  # not repairable by us

    @property
    def ok(self) -> bool:
        return not self.problems


def check_mailbox(mbox: MaildirMailbox, verify_files: bool = True) -> CheckReport:
    """Check one mailbox's index records, cached blobs and message hashes; repair the index.

    Args:
        mbox: the mailbox (opened read-write or read-only; repairs touch only the index).
        verify_files: also re-hash every message file (reads all of them).
    """
    core = mbox.core
    report = CheckReport(mbox.name)
    core.sync()
    with core.locked():
        idx = core.index
        _rows, bad = idx.rows_since(-1)
        for uid in bad:
            report.problems.append(f"{core.where()}: index record UID {uid}: CRC mismatch")
            core.log(f"index record for UID {uid} has a bad CRC; rebuilding it ({core.where()})")
        if bad:
            core._scan(list(SUBDIRS), set(bad))
            report.repaired += len(bad)
        blobs = idx.bad_blobs()
        for uid, kind in blobs:
            report.problems.append(f"{core.where()}: cached {kind} of UID {uid}: CRC mismatch")
            core.log(f"cached {kind} of UID {uid} has a bad CRC; rebuilding it ({core.where()})")
        if blobs:
            idx.begin()
            idx.delete_blobs(blobs)
            idx.commit()
        rows = dict(core.rows)
        hashes = core.state.all_hashes()
    for uid, kind in blobs:
        if uid in rows:
            mbox._cached(uid, kind)  # rebuilt from the message file
            report.repaired += 1
    core.flush_blobs()
    report.messages = len(rows)
    if not verify_files:
        return report
    missing: list[tuple[int, str, int]] = []
    for uid, row in sorted(rows.items()):
        path = core.file_path(row)
        try:
            facts = facts_of_file(path)
        except FileNotFoundError:
            continue  # expunged meanwhile
        except OSError as e:
            report.problems.append(f"{path}: UID {uid}: unreadable: {e.strerror}")
            report.damaged_files.append(path)
            continue
        recorded = hashes.get(uid)
        if recorded is None:
            missing.append((uid, facts.sha1, facts.psize))
        elif recorded[0] != facts.sha1 or recorded[1] != facts.psize:
            line = (
                f"{path}: UID {uid}: message file damaged: SHA-1 {facts.sha1} size {facts.psize}, "
                f"recorded at delivery SHA-1 {recorded[0]} size {recorded[1]} "
                f"(user={core.user}; file kept, restore it from backup)"
            )
            report.problems.append(line)
            report.damaged_files.append(path)
            core.log(line)
    if missing:
        # A file we never hashed (index lost before the state existed): record it now.
        with core.locked():
            st = core.state
            st.begin()
            st.add_hashes(missing)
            st.commit()
    return report


def rebuild_mailbox(mbox: MaildirMailbox) -> int:
    """Delete the index/cache of a mailbox and rebuild it; returns the message count."""
    core = mbox.core
    core.reset_index("index rebuild requested by the admin")
    return len(core.rows)


def index_files(path: str) -> list[str]:
    """The index/cache files of a mailbox directory (what ``rebuild`` deletes)."""
    return [os.path.join(path, n) for n in os.listdir(path) if "index" in n or "cache" in n]
