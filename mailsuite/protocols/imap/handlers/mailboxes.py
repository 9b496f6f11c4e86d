"""Mailbox management: CREATE (with USE), DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST
(LIST-EXTENDED, LIST-STATUS, SPECIAL-USE), LSUB, XLIST, STATUS, APPEND.

RFC 3501 6.3.3-6.3.11, RFC 5258, RFC 5819, RFC 6154, RFC 4315 3 (APPENDUID).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Final

from mailsuite.errors import ErrorKind, MailError
from mailsuite.store.api import (
    DELETED,
    HIERARCHY_DELIMITER,
    INBOX,
    Mailbox,
    MailboxInfo,
    MailboxSnapshot,
    MailboxStatus,
    MailStore,
)

from .. import commands as c
from ..session import Outcome, mail_error_code
from ..wire import data
from ..wire import responses as r
from ..wire.responses import BAD, NO, OK, Code

if TYPE_CHECKING:
    from ..session import ImapSession

__all__ = [
    "do_append",
    "do_create",
    "do_delete",
    "do_list",
    "do_lsub",
    "do_rename",
    "do_status",
    "do_subscribe",
    "do_xlist",
    "pattern_regex",
    "status_items",
]

_D: Final = HIERARCHY_DELIMITER
_ATTR_ORDER: Final = ("\\Noselect", "\\NonExistent", "\\HasChildren", "\\HasNoChildren")


def pattern_regex(reference: str, pattern: str) -> re.Pattern[str]:
    """The names ``reference`` + ``pattern`` matches (RFC 3501 6.3.8).

    ``*`` matches anything, ``%`` anything but the hierarchy delimiter.
    """
    if reference and pattern.startswith(_D):
        full = reference.rstrip(_D) + pattern
    else:
        full = reference + pattern
    out = []
    for ch in full:
        if ch == "*":
            out.append(".*")
        elif ch == "%":
            out.append(f"[^{re.escape(_D)}]*")
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out), re.DOTALL)


def _matches(regexes: Sequence[re.Pattern[str]], name: str) -> bool:
    for rx in regexes:
        if rx.fullmatch(name):
            return True
        # RFC 3501 5.1: INBOX is case-insensitive.
        if name == INBOX and re.fullmatch(rx.pattern, name, re.IGNORECASE | re.DOTALL):
            return True
    return False


def _attrs(attributes: Iterable[str], extra: Iterable[str] = ()) -> list[str]:
    """Attributes in a stable order: structure first, then special use, then the rest."""
    got = set(attributes) | set(extra)
    first = [a for a in _ATTR_ORDER if a in got]
    return first + sorted(got - set(first))


def _mail_no(tag: bytes, e: MailError, *, trycreate: bool = False) -> Outcome:
    code = Code.TRYCREATE if trycreate and e.kind is ErrorKind.NOT_FOUND else mail_error_code(e)
    return Outcome(r.tagged(tag, NO, e.message, code))


# -- CREATE, DELETE, RENAME, (UN)SUBSCRIBE ------------------------------------------


async def do_create(session: ImapSession, cmd: c.Create) -> Outcome:
    # RFC 3501 6.3.3: a trailing delimiter only says children will follow.
    name = cmd.mailbox.rstrip(_D) if cmd.mailbox != _D else cmd.mailbox
    if not name or name.upper() == INBOX:
        return Outcome(r.tagged(cmd.tag, NO, "Mailbox already exists", Code.ALREADYEXISTS))
    if len(cmd.special_use) > 1:
        # RFC 6154 5.4: we keep one special use per mailbox.
        return Outcome(r.tagged(cmd.tag, NO, "One special-use attribute per mailbox", b"USEATTR"))
    use = cmd.special_use[0] if cmd.special_use else None
    await session.run(session.require_store().create_mailbox, name, use)
    return Outcome(r.tagged(cmd.tag, OK, "Create completed."))


async def do_delete(session: ImapSession, cmd: c.Delete) -> Outcome:
    if cmd.mailbox == INBOX:
        return Outcome(r.tagged(cmd.tag, NO, "INBOX can't be deleted.", Code.CANNOT))
    sel = session.selected
    if sel is not None and sel.view.name == cmd.mailbox:
        return Outcome(r.tagged(cmd.tag, NO, "Can't delete the selected mailbox.", Code.INUSE))
    await session.run(session.require_store().delete_mailbox, cmd.mailbox)
    return Outcome(r.tagged(cmd.tag, OK, "Delete completed."))


async def do_rename(session: ImapSession, cmd: c.Rename) -> Outcome:
    if cmd.new_name.upper() == INBOX:
        return Outcome(r.tagged(cmd.tag, NO, "Target mailbox already exists", Code.ALREADYEXISTS))
    # RFC 3501 6.3.5: renaming INBOX moves its messages to the new mailbox (the store does it).
    await session.run(session.require_store().rename_mailbox, cmd.mailbox, cmd.new_name)
    return Outcome(r.tagged(cmd.tag, OK, "Rename completed."))


async def do_subscribe(session: ImapSession, cmd: c.Subscribe) -> Outcome:
    store = session.require_store()
    if isinstance(cmd, c.Unsubscribe):
        await session.run(store.unsubscribe, cmd.mailbox)
        return Outcome(r.tagged(cmd.tag, OK, "Unsubscribe completed."))
    await session.run(store.subscribe, cmd.mailbox)
    return Outcome(r.tagged(cmd.tag, OK, "Subscribe completed."))


# -- LIST, LSUB, XLIST --------------------------------------------------------------


def _listing(store: MailStore, want_subs: bool) -> tuple[list[MailboxInfo], set[str]]:
    """Blocking: the mailboxes and (when asked) the subscriptions, in one thread hop."""
    infos = store.list_mailboxes()
    subs = set(store.subscriptions()) if want_subs else set()
    return infos, subs


async def do_list(session: ImapSession, cmd: c.List) -> Outcome:
    store = session.require_store()
    limit = session.config.append_limit_bytes
    if cmd.patterns == ("",) and not cmd.extended:
        # RFC 3501 6.3.8: an empty pattern asks for the delimiter and the root.
        session.out.write(data.list_response("", ["\\Noselect"]))
        return Outcome(r.tagged(cmd.tag, OK, "List completed."))
    sel_subscribed = "SUBSCRIBED" in cmd.select_options
    recursive = "RECURSIVEMATCH" in cmd.select_options
    want_subs = sel_subscribed or "SUBSCRIBED" in cmd.return_options
    infos, subs = await session.run(_listing, store, want_subs)
    regexes = [pattern_regex(cmd.reference, p) for p in cmd.patterns if p]
    by_name = {i.name: i for i in infos}
    rows: list[tuple[str, list[str], tuple[str, ...]]] = []
    if sel_subscribed:
        # RFC 5258 3.1: subscribed names, existing or not; RECURSIVEMATCH adds parents
        # whose subscribed children match nothing themselves, with CHILDINFO.
        names = sorted(set(subs) | (set(by_name) if recursive else set()), key=_order)
        for name in names:
            info = by_name.get(name)
            if not _matches(regexes, name):
                continue
            attrs = set(info.attributes) if info else {"\\NonExistent"}
            child_info: tuple[str, ...] = ()
            if name in subs:
                attrs.add("\\Subscribed")
            elif recursive and any(s.startswith(name + _D) for s in subs):
                child_info = ("SUBSCRIBED",)
            else:
                continue
            rows.append((name, _attrs(attrs), child_info))
    else:
        special_only = "SPECIAL-USE" in cmd.select_options
        for info in infos:
            if not _matches(regexes, info.name):
                continue
            if special_only and not info.special_use:
                continue
            attrs = set(info.attributes)
            if info.name in subs:
                attrs.add("\\Subscribed")
            rows.append((info.name, _attrs(attrs), ()))
    for name, row_attrs, child_info in rows:
        session.out.write(data.list_response(name, row_attrs, child_info=child_info))
        selectable = "\\Noselect" not in row_attrs and "\\NonExistent" not in row_attrs
        if cmd.status_items and selectable:
            # RFC 5819: STATUS right after its LIST line; a failure skips the STATUS only.
            try:
                values = await session.run(_status_values, store, name, cmd.status_items, limit)
            except MailError:
                continue
            session.out.write(data.status(name, values))
    return Outcome(r.tagged(cmd.tag, OK, "List completed."))


def _order(name: str) -> tuple[bool, str]:
    return (name != INBOX, name)


async def do_xlist(session: ImapSession, cmd: c.Xlist) -> Outcome:
    """XLIST (Gmail's, for old clients): LIST with special use and \\Inbox."""
    if isinstance(cmd, c.Lsub):
        return await do_lsub(session, cmd)
    store = session.require_store()
    infos, _subs = await session.run(_listing, store, False)
    regexes = [pattern_regex(cmd.reference, cmd.pattern)]
    for info in infos:
        if not _matches(regexes, info.name):
            continue
        extra = ["\\Inbox"] if info.name == INBOX else []
        session.out.write(
            data.list_response(info.name, _attrs(info.attributes, extra), kind=b"XLIST")
        )
    return Outcome(r.tagged(cmd.tag, OK, "XLIST completed."))


async def do_lsub(session: ImapSession, cmd: c.Lsub) -> Outcome:
    """LSUB (RFC 3501 6.3.9): subscribed names; a ``%`` cut gives the parent as \\Noselect."""
    store = session.require_store()
    infos, subs = await session.run(_listing, store, True)
    regexes = [pattern_regex(cmd.reference, cmd.pattern)]
    existing = {i.name: i for i in infos}
    out: dict[str, list[str]] = {}
    for name in sorted(subs, key=_order):
        if _matches(regexes, name):
            info = existing.get(name)
            attrs = ["\\Noselect"] if info is not None and "\\Noselect" in info.attributes else []
            out[name] = attrs
            continue
        levels = name.split(_D)
        for i in range(len(levels) - 1, 0, -1):
            parent = _D.join(levels[:i])
            if parent not in subs and _matches(regexes, parent):
                out.setdefault(parent, ["\\Noselect"])
                break
    for name, attrs in out.items():
        session.out.write(data.list_response(name, attrs, kind=b"LSUB"))
    return Outcome(r.tagged(cmd.tag, OK, "Lsub completed."))


# -- STATUS -------------------------------------------------------------------------


def status_items(
    status: MailboxStatus, deleted: int, items: Sequence[str], append_limit: int = 0
) -> list[tuple[str, int]]:
    """(item, value) pairs in the client's order from a MailboxStatus.

    ``append_limit`` is the largest APPEND this server takes (RFC 7889 4), the
    same for every mailbox.
    """
    values = {
        "MESSAGES": status.messages,
        "RECENT": status.recent,
        "UIDNEXT": status.uidnext,
        "UIDVALIDITY": status.uidvalidity,
        "UNSEEN": status.unseen,
        "HIGHESTMODSEQ": status.highestmodseq,
        "SIZE": status.size,
        "DELETED": deleted,
        "APPENDLIMIT": append_limit,
    }
    return [(item, int(values[item])) for item in items]


def _status_values(
    store: MailStore, name: str, items: Sequence[str], append_limit: int = 0
) -> list[tuple[str, int]]:
    """Blocking: open read-only (claims no \\Recent), read the counters, close."""
    mailbox = store.open_mailbox(name, readonly=True)
    try:
        status = mailbox.status()
        deleted = 0
        if "DELETED" in items:
            deleted = sum(1 for m in mailbox.snapshot().messages if DELETED in m.flags)
        return status_items(status, deleted, items, append_limit)
    finally:
        mailbox.close()


async def do_status(session: ImapSession, cmd: c.Status) -> Outcome:
    store = session.require_store()
    limit = session.config.append_limit_bytes
    values = await session.run(_status_values, store, cmd.mailbox, cmd.items, limit)
    session.out.write(data.status(cmd.mailbox, values))
    return Outcome(r.tagged(cmd.tag, OK, "Status completed."))


# -- APPEND -------------------------------------------------------------------------


def _append(
    store: MailStore,
    name: str,
    message: c.AppendMessage,
    selected: Mailbox | None,
    uidvalidity: int | None,
) -> tuple[int, int, MailboxSnapshot | None]:
    """Blocking: store the message durably; return (UIDVALIDITY, UID, snapshot).

    ``selected`` is the session's own writable handle when the target is the
    selected mailbox: appending through it spares opening (and syncing) another,
    and the snapshot the session's sync after the command needs (RFC 3501 6.3.11:
    the new EXISTS) is taken in the same thread hop; otherwise it is None.

    A large message comes spooled by the framer: the store reads the spool
    file in chunks, and it is closed here, in the pool thread, as soon as
    the store is done (freeing a big file can take the kernel a while; the
    server's close after the command is then a no-op).
    """
    body = message.data
    try:
        mailbox = selected if selected is not None else store.open_mailbox(name)
        try:
            data = body if isinstance(body, bytes) else body.open()
            uid = mailbox.append(data, message.flags, message.internal_date)
            if not uidvalidity:
                uidvalidity = mailbox.status().uidvalidity
            return uidvalidity, uid, (mailbox.snapshot() if selected is not None else None)
        finally:
            if selected is None:
                mailbox.close()
    finally:
        if not isinstance(body, bytes):
            body.close()


async def do_append(session: ImapSession, cmd: c.Append) -> Outcome:
    if len(cmd.messages) != 1:
        # MULTIAPPEND (RFC 3502) is all-or-nothing; we do not offer it.
        return Outcome(r.tagged(cmd.tag, BAD, "APPEND takes one message (no MULTIAPPEND)."))
    sel = session.selected
    own: Mailbox | None = None
    known = None
    if sel is not None and sel.view.name == cmd.mailbox and not sel.readonly:
        own = sel.mailbox
        known = sel.view.uidvalidity
    try:
        uidvalidity, uid, fresh = await session.run(
            _append, session.require_store(), cmd.mailbox, cmd.messages[0], own, known
        )
    except MailError as e:
        # RFC 3501 6.3.11: a missing target gets [TRYCREATE] so the client may create it.
        session.log.info(
            "{prefix}: APPEND to {name} failed: {detail}",
            prefix=session.log_prefix,
            name=cmd.mailbox,
            detail=e.detail,
        )
        return _mail_no(cmd.tag, e, trycreate=True)
    if fresh is not None and session.selected is sel:
        session.fresh = fresh  # the sync after this command reports it (EXISTS)
    code = r.code_appenduid(uidvalidity, [uid])
    return Outcome(r.tagged(cmd.tag, OK, "Append completed.", code))
