"""Selecting a mailbox and leaving it: SELECT, EXAMINE, CHECK, CLOSE, UNSELECT, EXPUNGE,
UID EXPUNGE (RFC 3501 6.3.1-6.3.2 and 6.4.1-6.4.3, RFC 3691, RFC 4315 2.1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from mailsuite.store.api import SEEN, SYSTEM_FLAGS, Mailbox, MailboxSnapshot, MailStore

from .. import commands as c
from ..selected import SelectedView
from ..session import Outcome, Selected
from ..wire import data
from ..wire import responses as r
from ..wire.responses import BAD, NO, OK, Code
from . import condstore

if TYPE_CHECKING:
    from ..session import ImapSession

__all__ = ["do_check", "do_close", "do_expunge", "do_select", "do_uid_expunge", "do_unselect"]

READ_ONLY_TEXT: Final = "Mailbox is read-only."


@dataclass(frozen=True, slots=True)
class _Opened:
    """What SELECT needs, all made in the thread hop (O(messages), not on the reactor)."""

    mailbox: Mailbox
    snapshot: MailboxSnapshot
    view: SelectedView
    defined: list[str]  # system flags, then every keyword in use (RFC 3501 7.2.6)
    first_unseen: int  # 0: none


def _open(store: MailStore, name: str, readonly: bool, condstore: bool, qresync: bool) -> _Opened:
    """Blocking: open the mailbox, take its snapshot and build the session's view of it."""
    mailbox = store.open_mailbox(name, readonly)
    try:
        snapshot = mailbox.snapshot()
    except BaseException:
        mailbox.close()
        raise
    view = SelectedView(snapshot, condstore=condstore, qresync=qresync)
    keywords: set[str] = set()
    first_unseen = 0
    for seq, rec in enumerate(snapshot.messages, 1):
        if rec.flags - SYSTEM_FLAGS:
            keywords.update(rec.flags - SYSTEM_FLAGS)
        if not first_unseen and SEEN not in rec.flags:
            first_unseen = seq
    defined = sorted(SYSTEM_FLAGS) + sorted(keywords)
    return _Opened(mailbox, snapshot, view, defined, first_unseen)


async def do_select(session: ImapSession, cmd: c.Select) -> Outcome:
    """SELECT/EXAMINE: the untagged data of RFC 3501 6.3.1, then OK [READ-WRITE|READ-ONLY].

    With (CONDSTORE) it enables CONDSTORE; with (QRESYNC (...)) it also sends
    what changed since the client's MODSEQ (RFC 7162 3.2.5).
    """
    if cmd.qresync is not None and not session.qresync:
        # RFC 7162 3.2.5: the parameter is a client bug unless QRESYNC was enabled.
        return Outcome(r.tagged(cmd.tag, BAD, "QRESYNC parameter without ENABLE QRESYNC."))
    # RFC 3501 6.3.1: a SELECT while selected first deselects, even when it then fails.
    if session.selected is not None:
        await session.deselect()
        # RFC 7162 3.2.11: what follows is about the new mailbox, not the old one.
        session.out.write(r.untagged_status(OK, "Previous mailbox closed.", Code.CLOSED))
    if cmd.condstore:
        condstore.enable(session, [condstore.CONDSTORE])
    store = session.require_store()
    readonly = type(cmd).readonly
    opened = await session.run(
        _open, store, cmd.mailbox, readonly, session.condstore, session.qresync
    )
    mailbox, snapshot, view = opened.mailbox, opened.snapshot, opened.view
    defined, first_unseen = opened.defined, opened.first_unseen
    readonly = readonly or mailbox.readonly
    session.select(Selected(mailbox, view, readonly))
    out = session.out
    out.write(data.flags(defined))
    if readonly:
        out.write(r.untagged_status(OK, "Read-only mailbox.", b"PERMANENTFLAGS ()"))
    else:
        out.write(r.untagged_status(OK, "Flags permitted.", r.code_permanentflags(defined)))
    out.write(data.exists(view.exists))
    out.write(data.recent(view.recent_count))
    if first_unseen:
        out.write(r.untagged_status(OK, "First unseen.", r.code_unseen(first_unseen)))
    out.write(r.untagged_status(OK, "UIDs valid", r.code_uidvalidity(snapshot.uidvalidity)))
    out.write(r.untagged_status(OK, "Predicted next UID", r.code_uidnext(snapshot.uidnext)))
    # RFC 7162 3.1.2.1: always sent; the store keeps MODSEQ for every mailbox (no NOMODSEQ).
    out.write(
        r.untagged_status(OK, "Highest", condstore.highest_modseq_code(snapshot.highestmodseq))
    )
    if cmd.qresync is not None:
        await condstore.qresync_select(session, mailbox, snapshot, cmd.qresync)
    code = Code.READ_ONLY if readonly else Code.READ_WRITE
    verb = "Examine" if readonly and type(cmd).readonly else "Select"
    return Outcome(r.tagged(cmd.tag, OK, f"{verb} completed.", code))


def _expunge(mailbox: Mailbox, uids: list[int] | None) -> MailboxSnapshot:
    """Blocking: expunge and take the snapshot that announces it, in one thread hop."""
    mailbox.expunge(uids)
    return mailbox.snapshot()


async def do_check(session: ImapSession, cmd: c.Check) -> Outcome:
    # Every change is on disk when its command completes: nothing to checkpoint (6.4.1).
    return Outcome(r.tagged(cmd.tag, OK, "Check completed."))


async def do_close(session: ImapSession, cmd: c.Close) -> Outcome:
    """RFC 3501 6.4.2: expunge silently (unless read-only), then deselect."""
    sel = session.selected
    assert sel is not None
    if not sel.readonly:
        await session.run(sel.mailbox.expunge)
    await session.deselect()
    return Outcome(r.tagged(cmd.tag, OK, "Close completed."))


async def do_unselect(session: ImapSession, cmd: c.Unselect) -> Outcome:
    await session.deselect()
    return Outcome(r.tagged(cmd.tag, OK, "Unselect completed."))


async def do_expunge(session: ImapSession, cmd: c.Expunge) -> Outcome:
    sel = session.selected
    assert sel is not None
    if sel.readonly:
        return Outcome(r.tagged(cmd.tag, NO, READ_ONLY_TEXT, Code.READ_ONLY))
    session.fresh = fresh = await session.run(_expunge, sel.mailbox, None)
    # The EXPUNGE responses come from the sync that follows every command.
    return Outcome(r.tagged(cmd.tag, OK, "Expunge completed.", _expunge_code(session, fresh)))


def _expunge_code(session: ImapSession, fresh: MailboxSnapshot | None) -> bytes | None:
    """RFC 7162 3.2.10 (QRESYNC): EXPUNGE's tagged OK names the new HIGHESTMODSEQ."""
    sel = session.selected
    if not session.qresync or sel is None:
        return None
    return condstore.highest_modseq_code(
        fresh.highestmodseq if fresh is not None else sel.view.highestmodseq
    )


async def do_uid_expunge(session: ImapSession, cmd: c.UidExpunge) -> Outcome:
    """RFC 4315 2.1: expunge only the named messages that have \\Deleted."""
    sel = session.selected
    assert sel is not None
    if sel.readonly:
        return Outcome(r.tagged(cmd.tag, NO, READ_ONLY_TEXT, Code.READ_ONLY))
    view = sel.view
    uids = [uid for _seq, uid in view.resolve(cmd.sequence, uid=True)]
    if uids:
        # Flags may have changed elsewhere; the store checks \Deleted itself.
        session.fresh = await session.run(_expunge, sel.mailbox, uids)
    code = _expunge_code(session, session.fresh)
    return Outcome(r.tagged(cmd.tag, OK, "Expunge completed.", code))
