"""Moving messages a session has seen from ``new/`` to ``cur/`` (the Maildir reader's duty).

The Maildir convention (cr.yp.to/proto/maildir.html) is that ``new/`` holds
mail no reader has looked at yet, and a reader moves a message to ``cur/``
(adding ``:2,``) once it has seen it; mutt does so when it opens a folder and
Dovecot when a session first sees a message. We do the same when a
read-write session takes a snapshot (it is about to tell its client about the
message), for three reasons:

* ``new/`` stays small, so the listing that every delivery by another agent
  forces costs a few entries instead of the whole mailbox;
* mutt and other readers see the same state Dovecot would leave: messages a
  client has been told about show as old-unread ("O"), not new ("N");
* IMAP \\Recent does not depend on it: it comes from the ``recent_uid``
  floor in the index (RFC 3501 2.3.2: recent in exactly one session), so
  moving changes neither \\Recent nor POP3.

Read-only sessions (EXAMINE) move nothing. The file name keeps its base, so
UIDs, the uidlist and POP3 UIDLs are unchanged; the record gets a new MODSEQ
so other processes reload its new name (as when mutt moves a file).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from mailsuite.store.maildir.filenames import join_name, parse_name
from mailsuite.store.maildir.index import IndexRow
from mailsuite.store.maildir.locks import fsync_dir
from mailsuite.store.maildir.scan import SUBDIRS

if TYPE_CHECKING:
    from mailsuite.store.maildir.core import MailboxCore

__all__ = ["MOVE_BATCH", "move_seen_to_cur"]

# At most this many renames per snapshot, so opening a mailbox with a huge
# new/ (an old Maildir) is not one long pause; the rest follow at later snapshots.
MOVE_BATCH = 2000


def move_seen_to_cur(
    core: MailboxCore, limit: int | None = None, claim_recent: bool = False
) -> int:
    """Move up to ``limit`` (default ``MOVE_BATCH``) messages from ``new/`` to ``cur/``.

    Takes the mailbox's locks itself; the caller holds none of them.

    Args:
        claim_recent: also move the \\Recent floor up to UIDNEXT in the same
            index transaction (see :meth:`MailboxCore.commit_rows`); the floor
            it had is then in ``core.claimed_floor``.

    Returns:
        How many messages were moved.
    """
    core.claimed_floor = None
    with core.locked():
        core.refresh()
        pending = sorted(core.in_new)[: limit or MOVE_BATCH]
        if not pending:
            return 0
        before = core.stamps_before(SUBDIRS)
        ms = int(core.index.meta.get("highestmodseq") or 0) + 1  # refreshed under the lock
        moved: list[IndexRow] = []
        raced = False
        new_dir, cur_dir = core.sub_paths["new"], core.sub_paths["cur"]
        for uid in pending:
            row = core.rows.get(uid)
            if row is None or row.dir != "new":
                core.in_new.discard(uid)
                continue
            p = parse_name(row.name)
            name = join_name(p.base, p.letters)  # "<base>:2,<letters>", as mutt and Dovecot name it
            try:
                # rename is atomic: the message is in new/ or in cur/, never in neither.
                os.rename(os.path.join(new_dir, row.name), os.path.join(cur_dir, name))
            except FileNotFoundError:
                raced = True  # moved or removed by someone else: the next sync lists
                continue
            except OSError as e:
                # A read-only file system or directory: serve the mailbox as it is, and
                # stop trying (and logging) for as long as this process has it open.
                core.log(f"cannot move {row.name} from new/ to cur/: {e.strerror or e}; "
                         f"leaving new/ as it is ({core.where()})")  # fmt: skip
                core.in_new.clear()
                break
            moved.append(row._replace(dir="cur", name=name, modseq=ms))
        if not moved:
            return 0
        if core.fsync:
            fsync_dir(cur_dir)
            fsync_dir(new_dir)
        core.state.reserve_modseq(ms)  # no statement while under the known ceiling
        stamps: dict[str, object] = {} if raced else dict(core.own_stamps(before))
        core.commit_rows(moved, [], ms, meta=stamps, claim_recent=claim_recent)
    return len(moved)
