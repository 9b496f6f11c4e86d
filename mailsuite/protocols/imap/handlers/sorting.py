"""SORT and THREAD (RFC 5256, RFC 5957 DISPLAYFROM/DISPLAYTO), and their UID forms.

Both run the SEARCH program first (as SEARCH does, on the mailbox as the
client numbers it), then order or thread the matches in the same thread-pool
hop: :mod:`..sort` and :mod:`..thread` read only the index and the store's
header/envelope cache.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from mailsuite.store.api import Mailbox, MailboxSnapshot

from .. import commands as c
from .. import search as evaluator
from ..commands.search import CHARSETS
from ..session import Outcome
from ..sort import sort_uids
from ..thread import fields_loader, thread_uids
from ..wire import responses as r
from ..wire.responses import NO, OK
from ..wire.thread_render import ThreadNode, sort_response, thread_response
from . import condstore
from .messages import view_snapshot

if TYPE_CHECKING:
    from ..selected import SelectedView
    from ..session import ImapSession

__all__ = ["do_sort", "do_thread"]


def _search(
    cmd: c.Sort | c.Thread, snapshot: MailboxSnapshot, mailbox: Mailbox, view: SelectedView
) -> list[int]:
    """Blocking: the matching UIDs of the command's search program."""
    return evaluator.evaluate_search(
        cmd.key,
        snapshot,
        mailbox.message,
        saved_result=view.saved_uids if view.saved_uids else None,
        charset=cmd.charset,
        # Header keys on cached fields read the store's cache, not the files.
        header_cache=evaluator.header_cache_for(mailbox),
    )


def _sorted(
    cmd: c.Sort, snapshot: MailboxSnapshot, mailbox: Mailbox, view: SelectedView
) -> list[int]:
    """Blocking: search, then order the matches."""
    uids = _search(cmd, snapshot, mailbox, view)
    return sort_uids(
        cmd.criteria, uids, snapshot, mailbox.envelope, load_fields=fields_loader(mailbox)
    )


def _threaded(
    cmd: c.Thread, snapshot: MailboxSnapshot, mailbox: Mailbox, view: SelectedView
) -> tuple[list[int], list[ThreadNode]]:
    """Blocking: search, then thread the matches."""
    uids = _search(cmd, snapshot, mailbox, view)
    return uids, thread_uids(cmd.algorithm, uids, snapshot, fields_loader(mailbox))


def _modseq(
    session: ImapSession, cmd: c.Sort, snapshot: MailboxSnapshot, uids: list[int]
) -> int | None:
    """RFC 7162 3.1.5 as for SEARCH: ``(MODSEQ n)`` when the program has a MODSEQ key."""
    if not evaluator.uses_modseq(cmd.key):
        return None
    condstore.enable(session, [condstore.CONDSTORE])
    return evaluator.highest_modseq(snapshot, uids)


def _charset_no(tag: bytes) -> Outcome:
    return Outcome(r.tagged(tag, NO, "Unsupported charset", r.code_badcharset(CHARSETS)))


async def do_sort(session: ImapSession, cmd: c.Sort) -> Outcome:
    """``* SORT n...`` in sort order (RFC 5256 4.1): sequence numbers, or UIDs for UID SORT."""
    sel = session.selected
    assert sel is not None
    view = sel.view
    snapshot = view_snapshot(view)
    try:
        uids = await session.run(_sorted, cmd, snapshot, sel.mailbox, view)
    except evaluator.UnsupportedCharset:
        return _charset_no(cmd.tag)
    modseq = _modseq(session, cmd, snapshot, uids)
    if cmd.uid:
        numbers = [u for u in uids if not view.is_expunged(u)]
    else:
        numbers = [s for u in uids if (s := view.seq_of(u)) is not None]
    session.out.write(sort_response(numbers, modseq=modseq))
    return Outcome(r.tagged(cmd.tag, OK, "Sort completed."))


async def do_thread(session: ImapSession, cmd: c.Thread) -> Outcome:
    """``* THREAD (...)`` (RFC 5256 4.2): sequence numbers, or UIDs for UID THREAD."""
    sel = session.selected
    assert sel is not None
    view = sel.view
    snapshot = view_snapshot(view)
    try:
        _uids, threads = await session.run(_threaded, cmd, snapshot, sel.mailbox, view)
    except evaluator.UnsupportedCharset:
        return _charset_no(cmd.tag)
    number: Callable[[int], int] | None = None
    if not cmd.uid:

        def number(uid: int) -> int:
            return view.seq_of(uid) or 0

    session.out.write(thread_response(threads, number))
    return Outcome(r.tagged(cmd.tag, OK, "Thread completed."))
