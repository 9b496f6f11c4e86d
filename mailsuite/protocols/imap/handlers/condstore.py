"""CONDSTORE and QRESYNC on the session side (RFC 7162): enabling, SELECT resync, VANISHED.

CONDSTORE is turned on by ENABLE or by the first CONDSTORE-aware command
(RFC 7162 3.1: SELECT/EXAMINE (CONDSTORE), FETCH MODSEQ or CHANGEDSINCE,
SEARCH MODSEQ, STORE UNCHANGEDSINCE) and stays on for the connection; QRESYNC
only by ENABLE (3.2.3), and it implies CONDSTORE. The store always keeps
MODSEQ, so no mailbox ever gets NOMODSEQ.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

from mailsuite.store.api import Mailbox, MailboxSnapshot

from .. import commands as c
from ..wire import data
from ..wire import responses as r
from ..wire.fetchrender import render_flags, render_modseq
from ..wire.responses import OK
from ..wire.seqset import SequenceSet

if TYPE_CHECKING:
    from ..selected import SelectedView
    from ..session import ImapSession

__all__ = [
    "CONDSTORE",
    "QRESYNC",
    "enable",
    "highest_modseq_code",
    "qresync_select",
    "vanished_earlier",
]

CONDSTORE: Final = "CONDSTORE"
QRESYNC: Final = "QRESYNC"


def highest_modseq_code(modseq: int) -> bytes:
    """``HIGHESTMODSEQ n``; an empty mailbox still says 1 (``mod-sequence-value`` is positive)."""
    return r.code_highestmodseq(max(1, modseq))


def enable(session: ImapSession, names: Iterable[str]) -> list[str]:
    """Turn on CONDSTORE and/or QRESYNC; return the names that were newly enabled.

    QRESYNC brings CONDSTORE with it (RFC 7162 3.2.3). When CONDSTORE comes on
    while a mailbox is selected, the client learns the mailbox's HIGHESTMODSEQ
    now (3.1.2.1: it may not have cared at SELECT) and every later unsolicited
    FETCH carries MODSEQ (3.1.4).
    """
    wanted = {n.upper() for n in names}
    newly: list[str] = []
    if QRESYNC in wanted and QRESYNC not in session.enabled:
        session.enabled.add(QRESYNC)
        newly.append(QRESYNC)
        if session.selected is not None:
            session.selected.view.qresync = True
    if (CONDSTORE in wanted or QRESYNC in wanted) and CONDSTORE not in session.enabled:
        session.enabled.add(CONDSTORE)
        if CONDSTORE in wanted:
            newly.append(CONDSTORE)
        sel = session.selected
        if sel is not None:
            sel.view.condstore = True
            session.out.write(
                r.untagged_status(OK, "Highest", highest_modseq_code(sel.view.highestmodseq))
            )
    return newly


def _largest_uid(view: SelectedView) -> int:
    """What ``*`` stands for in a UID set naming expunged messages: every UID ever given."""
    last = view.uids[-1] if view.uids else 0
    return max(last, view.uidnext - 1)


def vanished_earlier(
    view: SelectedView, vanished: list[int], within: SequenceSet | None
) -> bytes | None:
    """``* VANISHED (EARLIER) set`` for expunged UIDs (in ``within`` when given), or None.

    UIDs the session still numbers (expunges not yet announced) are left out:
    the plain VANISHED that follows the command announces them and adjusts the
    message count, which VANISHED (EARLIER) never does (RFC 7162 3.2.10).
    """
    largest = _largest_uid(view)
    uids = [
        u
        for u in vanished
        if view.seq_of(u) is None and (within is None or within.contains(u, largest))
    ]
    if not uids:
        return None  # RFC 7162 3.2.10: never an empty set
    return data.vanished(uids, earlier=True)


def _resync_changes(
    mailbox: Mailbox, snapshot: MailboxSnapshot, params: c.QResyncParams
) -> list[int]:
    """Blocking: the UIDs expunged since the client's MODSEQ (none when it is current)."""
    if params.modseq >= snapshot.highestmodseq:
        return []
    return mailbox.vanished_since(params.modseq)


async def qresync_select(
    session: ImapSession, mailbox: Mailbox, snapshot: MailboxSnapshot, params: c.QResyncParams
) -> None:
    """The QRESYNC part of SELECT/EXAMINE (RFC 7162 3.2.5), after the usual untagged data.

    With a matching UIDVALIDITY: ``* VANISHED (EARLIER)`` for what was expunged
    since the client's MODSEQ, then ``* n FETCH (UID FLAGS MODSEQ)`` for every
    message changed since then; both limited to the client's known UIDs when
    it gave them. The store remembers every expunge with its MODSEQ, so the
    sequence match data (a hint for servers that forget) is not needed.
    A different UIDVALIDITY means the client's cache is void: nothing more.
    """
    if params.uidvalidity != snapshot.uidvalidity:
        return
    sel = session.selected
    assert sel is not None
    view = sel.view
    known = params.known_uids
    largest = _largest_uid(view)
    vanished = await session.run(_resync_changes, mailbox, snapshot, params)
    line = vanished_earlier(view, vanished, known)
    if line is not None:
        session.out.write(line)
    if params.modseq >= snapshot.highestmodseq:
        return  # nothing changed since: no need to look at every message
    for seq, uid in enumerate(view.uids, 1):
        rec = view.record(uid)
        if rec is None or rec.modseq <= params.modseq:
            continue
        if known is not None and not known.contains(uid, largest):
            continue
        items = [
            (b"UID", b"%d" % uid),
            (b"FLAGS", render_flags(rec.flags, recent=view.is_recent(uid))),
            (b"MODSEQ", render_modseq(rec.modseq)),
        ]
        session.out.write(data.fetch(seq, items))
