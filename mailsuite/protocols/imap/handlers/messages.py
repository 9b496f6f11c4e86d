"""Changing and moving messages: STORE, COPY, MOVE (and their UID forms), SEARCH.

RFC 3501 6.4.4, 6.4.6-6.4.8, RFC 4315 3 (COPYUID), RFC 6851 (MOVE).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from mailsuite.errors import ErrorKind, MailError
from mailsuite.store.api import (
    CopyResult,
    FlagMode,
    FlagUpdate,
    Mailbox,
    MailboxSnapshot,
    MailStore,
    MessageRecord,
)

from .. import commands as c
from .. import search as evaluator
from ..commands.search import CHARSETS
from ..selected import SelectedView
from ..session import Outcome, mail_error_code
from ..wire import data
from ..wire import responses as r
from ..wire.fetchrender import render_flags, render_modseq
from ..wire.responses import BAD, NO, OK, Code
from . import condstore, quota
from .fetch import INVALID_SET, out_of_range

if TYPE_CHECKING:
    from ..session import ImapSession

__all__ = ["do_copy", "do_search", "do_store", "view_snapshot"]

_MODES: Final = {
    c.StoreMode.REPLACE: FlagMode.REPLACE,
    c.StoreMode.ADD: FlagMode.ADD,
    c.StoreMode.REMOVE: FlagMode.REMOVE,
}
READ_ONLY_TEXT: Final = "Mailbox is read-only."
EXPUNGED_TEXT: Final = "Some of the requested messages no longer exist."


def _set_flags(
    mailbox: Mailbox,
    uids: list[int],
    flags: Sequence[str],
    mode: FlagMode,
    unchanged_since: int | None,
) -> tuple[FlagUpdate, MailboxSnapshot]:
    """Blocking: change the flags and take the snapshot that follows, in one thread hop."""
    update = mailbox.set_flags(uids, flags, mode, unchanged_since)
    return update, mailbox.snapshot()


def _present(messages: Sequence[MessageRecord], uid: int) -> bool:
    """Whether ``uid`` is among the UID-sorted ``messages``."""
    i = bisect.bisect_left(messages, uid, key=_uid_of)
    return i < len(messages) and messages[i].uid == uid


def _uid_of(rec: MessageRecord) -> int:
    return rec.uid


async def do_store(session: ImapSession, cmd: c.Store) -> Outcome:
    """STORE / UID STORE (RFC 3501 6.4.6), conditional with UNCHANGEDSINCE (RFC 7162 3.1.3)."""
    sel = session.selected
    assert sel is not None
    view = sel.view
    if out_of_range(view, cmd.sequence, uid=cmd.uid):
        return Outcome(r.tagged(cmd.tag, BAD, INVALID_SET))
    if sel.readonly:
        return Outcome(r.tagged(cmd.tag, NO, READ_ONLY_TEXT, Code.READ_ONLY))
    conditional = cmd.unchanged_since is not None
    if conditional:
        condstore.enable(session, [condstore.CONDSTORE])  # RFC 7162 3.1: enabling
    pairs = view.resolve(cmd.sequence, uid=cmd.uid)
    live = [(seq, uid) for seq, uid in pairs if not view.is_expunged(uid)]
    changed: set[int] = set()
    if live:
        update, session.fresh = await session.run(
            _set_flags,
            sel.mailbox,
            [uid for _s, uid in live],
            cmd.flags,
            _MODES[cmd.mode],
            cmd.unchanged_since,
        )
        # Our own change: reported here (unless .SILENT), never again by the next sync.
        fresh = session.fresh
        if fresh is not None:
            view.note_own_change(update.changed, fresh.highestmodseq)
        else:
            view.note_records(update.changed)
        modified = set(update.modified)
        changed = {rec.uid for rec in update.changed}
        if session.fresh is not None:
            # Messages gone from the store meanwhile get no FETCH (RFC 2180 4.2.1).
            messages = session.fresh.messages
            live = [(seq, uid) for seq, uid in live if uid in changed or _present(messages, uid)]
    else:
        modified = set()
    for seq, uid in live:
        if uid in modified:
            continue  # RFC 7162 3.1.3: failed the test, reported in [MODIFIED] only
        rec = view.record(uid)
        if rec is None:
            continue
        if cmd.silent:
            # RFC 7162 3.1.3: even .SILENT reports the MODSEQ of every message that passed
            # UNCHANGEDSINCE, changed or not (flags already set keep their MODSEQ); once
            # CONDSTORE is on, a plain .SILENT STORE reports the MODSEQ of what it changed.
            if not view.condstore or not (conditional or uid in changed):
                continue
            items: list[tuple[bytes, bytes]] = []
        else:
            # RFC 3501 6.4.6: the new flags of every message in the set, as untagged FETCH.
            items = [(b"FLAGS", render_flags(view.flags_of(uid)))]
        if cmd.uid:
            items.append((b"UID", b"%d" % uid))
        if view.condstore:
            items.append((b"MODSEQ", render_modseq(rec.modseq)))
        session.out.write(data.fetch(seq, items))
    # RFC 7162 3.1.3: [MODIFIED] names UIDs for UID STORE, message numbers for STORE.
    failed = modified if cmd.uid else {seq for seq, uid in pairs if uid in modified}
    modified_code = r.code_modified(sorted(failed)) if failed else None
    if len(live) != len(pairs):
        # RFC 2180 4.2.1: expunged elsewhere and not yet announced to this client; a
        # failed UNCHANGEDSINCE test still has to be told (RFC 7162 3.1.3 example 10).
        code = modified_code or Code.EXPUNGEISSUED
        return Outcome(r.tagged(cmd.tag, NO, EXPUNGED_TEXT, code))
    if modified_code is not None:
        return Outcome(r.tagged(cmd.tag, OK, "Conditional STORE failed", modified_code))
    return Outcome(r.tagged(cmd.tag, OK, "Store completed."))


def _transfer(
    store: MailStore,
    source: Mailbox,
    uids: Sequence[int],
    dest_name: str,
    move: bool,
    sizes: Sequence[int] = (),
) -> tuple[CopyResult, MailboxSnapshot]:
    """Blocking: copy or move ``uids`` into ``dest_name``, then snapshot the source.

    A COPY is checked against the quota first (``sizes`` of the messages); a
    MOVE stays within the user's one quota root and cannot exceed it.
    """
    dest = store.open_mailbox(dest_name)
    if not move:
        try:
            quota.check_copy_quota(store, sizes)
        except BaseException:
            dest.close()
            raise
    try:
        result = source.move(uids, dest) if move else source.copy(uids, dest)
    finally:
        dest.close()
    return result, source.snapshot()


async def do_copy(session: ImapSession, cmd: c.Copy) -> Outcome:
    """COPY and MOVE with COPYUID (RFC 4315 3, RFC 6851 4.3)."""
    sel = session.selected
    assert sel is not None
    view = sel.view
    move = isinstance(cmd, c.Move)
    verb = "Move" if move else "Copy"
    if out_of_range(view, cmd.sequence, uid=cmd.uid):
        return Outcome(r.tagged(cmd.tag, BAD, INVALID_SET))
    if move and sel.readonly:
        return Outcome(r.tagged(cmd.tag, NO, READ_ONLY_TEXT, Code.READ_ONLY))
    pairs = view.resolve(cmd.sequence, uid=cmd.uid)
    if any(view.is_expunged(uid) for _s, uid in pairs):
        # RFC 2180 4.4.1: refuse rather than copy part of the set.
        return Outcome(r.tagged(cmd.tag, NO, EXPUNGED_TEXT, Code.EXPUNGEISSUED))
    uids = [uid for _s, uid in pairs]
    sizes = [rec.rfc822_size for uid in uids if (rec := view.record(uid)) is not None]
    try:
        result, session.fresh = await session.run(
            _transfer, session.require_store(), sel.mailbox, uids, cmd.mailbox, move, sizes
        )
    except MailError as e:
        session.log.info(
            "{prefix}: {verb} to {name} failed: {detail}",
            prefix=session.log_prefix,
            verb=verb.upper(),
            name=cmd.mailbox,
            detail=e.detail,
        )
        # RFC 3501 6.4.7: a missing target gets [TRYCREATE].
        code = Code.TRYCREATE if e.kind is ErrorKind.NOT_FOUND else mail_error_code(e)
        return Outcome(r.tagged(cmd.tag, NO, e.message, code))
    code = r.code_copyuid(result.uidvalidity, result.pairs) if result.pairs else None
    if move:
        # RFC 6851 4.3: COPYUID goes in an untagged OK before the EXPUNGEs, which the
        # session's sync after this command sends.
        if code is not None:
            session.out.write(r.untagged_status(OK, "Moved UIDs.", code))
        highest = None
        if session.qresync and session.fresh is not None:
            # RFC 6851 4.4 / RFC 7162 3.2.10: as for EXPUNGE, the new HIGHESTMODSEQ.
            highest = condstore.highest_modseq_code(session.fresh.highestmodseq)
        return Outcome(r.tagged(cmd.tag, OK, "Move completed.", highest))
    return Outcome(r.tagged(cmd.tag, OK, "Copy completed.", code))


def _saved(uids: Sequence[int], returns: set[str]) -> tuple[int, ...]:
    """What SAVE keeps (RFC 5182 2.1): only MIN/MAX when they are all that was asked."""
    if not uids or not returns or not returns <= {"MIN", "MAX"}:
        return tuple(uids)
    kept = {uids[0]} if "MIN" in returns else set()
    if "MAX" in returns:
        kept.add(uids[-1])
    return tuple(sorted(kept))


def view_snapshot(view: SelectedView) -> MailboxSnapshot:
    """The mailbox as the client numbers it (not-yet-announced expunges included)."""
    records = tuple(rec for uid in view.uids if (rec := view.record(uid)) is not None)
    recent = frozenset(uid for uid in view.uids if view.is_recent(uid))
    return MailboxSnapshot(
        view.name, view.uidvalidity, view.uidnext, view.highestmodseq, records, recent
    )


async def do_search(session: ImapSession, cmd: c.Search) -> Outcome:
    """SEARCH / UID SEARCH (RFC 3501 6.4.4), ESEARCH forms (RFC 4731) and SAVE (RFC 5182)."""
    sel = session.selected
    assert sel is not None
    view = sel.view
    snapshot = view_snapshot(view)
    try:
        uids = await session.run(
            evaluator.evaluate_search,
            cmd.key,
            snapshot,
            sel.mailbox.message,
            saved_result=view.saved_uids if view.saved_uids else None,
            charset=cmd.charset or "UTF-8",
            # Header keys on cached fields read the store's cache, not the files.
            header_cache=evaluator.header_cache_for(sel.mailbox),
        )
    except evaluator.UnsupportedCharset:
        if cmd.returns is not None and "SAVE" in cmd.returns:
            view.saved_uids = ()  # RFC 5182 2.1: a failed SEARCH (SAVE) empties $
        return Outcome(r.tagged(cmd.tag, NO, "Unsupported charset", r.code_badcharset(CHARSETS)))
    modseq = None
    if evaluator.uses_modseq(cmd.key):
        condstore.enable(session, [condstore.CONDSTORE])  # RFC 7162 3.1: enabling
        modseq = evaluator.highest_modseq(snapshot, uids)
    if cmd.uid:
        # Expunged elsewhere: announced right after this command, so leave them out.
        numbers = [u for u in uids if not view.is_expunged(u)]
    else:
        numbers = [s for u in uids if (s := view.seq_of(u)) is not None]
    if cmd.returns is None:
        session.out.write(data.search(numbers, modseq=modseq))
    else:
        returns = set(cmd.returns) or {"ALL"}
        if "SAVE" in returns:
            returns.discard("SAVE")
            view.saved_uids = _saved(uids, returns)
        if returns:  # RFC 5182 2.1: SAVE alone sends no ESEARCH
            session.out.write(
                data.esearch(cmd.tag, uid=cmd.uid, results=numbers, returns=returns, modseq=modseq)
            )
    return Outcome(r.tagged(cmd.tag, OK, "Search completed."))
