"""FETCH and UID FETCH (RFC 3501 6.4.5, 6.4.8, 7.4.2).

Index-only items (FLAGS, UID, INTERNALDATE, RFC822.SIZE, MODSEQ) are
rendered from the session's view without touching the disk. ENVELOPE and
BODYSTRUCTURE come from the store's cache; body sections are read in the
thread pool, a batch of messages per hop, and large whole-message or TEXT
windows are handed to the server as :class:`BodySource` to stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from mailsuite.errors import ErrorKind, MailError
from mailsuite.message import Message
from mailsuite.store.api import SEEN, FlagMode, Mailbox, MessageRecord

from .. import commands as c
from ..commands import FetchAttr, Section
from ..selected import SelectedView, expunge_allowed_during
from ..session import BodySource, Outcome
from ..wire import responses as r
from ..wire.fetchrender import (
    partial_range,
    render_body,
    render_envelope,
    render_flags,
    render_internaldate,
    render_modseq,
    render_section,
)
from ..wire.responses import BAD, NO, OK, Code
from ..wire.seqset import SequenceSet
from . import condstore

if TYPE_CHECKING:
    from ..session import ImapSession

__all__ = ["INVALID_SET", "STREAM_MIN_BYTES", "do_fetch", "out_of_range", "render_message"]

#: Whole-message and TEXT windows at least this large are streamed, not built in memory.
STREAM_MIN_BYTES: Final = 256 * 1024
#: Messages rendered per thread-pool hop when items need the message file.
FETCH_BATCH: Final = 128
#: Messages rendered per hop when every item comes from the store's cache
#: (ENVELOPE, BODYSTRUCTURE, BODY): a few hundred bytes each, no file opened,
#: so fewer, larger hops (FETCH 1:* (ENVELOPE BODYSTRUCTURE) on a big mailbox).
CACHED_BATCH: Final = 512
#: Messages rendered per write when every item comes from the index.
INDEX_BATCH: Final = 1024

Piece = bytes | BodySource

# RFC 3501 6.4.5: the RFC822 forms are the BODY[] forms under other names.
_RFC822_SECTIONS: Final = {
    "RFC822": (Section(), False),
    "RFC822.HEADER": (Section((), "HEADER"), True),
    "RFC822.TEXT": (Section((), "TEXT"), False),
}


INVALID_SET: Final = "Error in IMAP command: Invalid messageset (message numbers past the end)."


def out_of_range(view: SelectedView, sequence: SequenceSet, *, uid: bool) -> bool:
    """A message sequence number past the end is invalid (RFC 3501 9, seq-number).

    UID sets may name UIDs that do not exist (RFC 3501 6.4.8); ``*`` is always valid.
    """
    if uid or sequence.saved:
        return False
    # A range reaching to "*" ("1:*") is accepted on any mailbox, as clients expect.
    return any(
        lo is not None and hi is not None and max(lo, hi) > view.exists
        for lo, hi in sequence.ranges
    )


class _Expunged(Exception):
    """The message file is gone; the message is skipped and the command says so."""


def _message_item(
    mailbox: Mailbox,
    uid: int,
    size: int,
    attr: FetchAttr,
    opened: dict[str, Any],
) -> list[Piece]:
    """Blocking: the value of one item that needs the message or its cached structure."""
    name = attr.name
    if name == "ENVELOPE":
        return [render_envelope(mailbox.envelope(uid))]
    if name == "BODYSTRUCTURE":
        return [render_body(mailbox.bodystructure(uid))]
    if name == "BODY" and attr.section is None:
        return [render_body(mailbox.bodystructure(uid), extensible=False)]
    section, partial = attr.section, attr.partial
    if name in _RFC822_SECTIONS:
        section = _RFC822_SECTIONS[name][0]
    assert section is not None
    msg = _open(mailbox, uid, opened)
    if not section.part and section.text in (None, "TEXT") and size >= STREAM_MIN_BYTES:
        # A large whole message or body: stream a window of the file (RFC 3501 4.3
        # literal; the index's RFC822.SIZE is the CRLF length of the file).
        start = len(msg.header_bytes()) if section.text == "TEXT" else 0
        total = max(0, size - start)
        offset, length = partial_range(total, partial)
        head = b"{%d}\r\n" % length
        if not length:
            return [head]
        return [head, BodySource(mailbox, uid, start + offset, length)]
    return [render_section(msg.section(section.part, section.text, section.fields), partial)]


def _open(mailbox: Mailbox, uid: int, opened: dict[str, Any]) -> Message:
    msg = opened.get("msg")
    if msg is None:
        try:
            f = mailbox.open_message(uid)
        except MailError as e:
            if e.kind is ErrorKind.EXPUNGED:
                raise _Expunged() from None
            raise
        opened["file"] = f
        msg = opened["msg"] = Message.from_file(f)
    return msg


def render_message(
    mailbox: Mailbox | None,
    seq: int,
    rec: MessageRecord,
    flags: frozenset[str],
    recent: bool,
    attrs: Sequence[FetchAttr],
    add_flags: bool,
    add_condstore: bool = False,
) -> list[Piece]:
    """One ``* n FETCH (...)`` response as pieces (blocking when items need the message).

    Raises:
        _Expunged: the message file is gone.
    """
    out: list[Piece] = [b"* %d FETCH (" % seq]
    opened: dict[str, Any] = {}
    first = True
    try:
        for attr in attrs:
            head = attr.response_name() if first else b" " + attr.response_name()
            first = False
            name = attr.name
            if name == "FLAGS":
                value: list[Piece] = [render_flags(flags, recent=recent)]
            elif name == "UID":
                value = [b"%d" % rec.uid]
            elif name == "RFC822.SIZE":
                value = [b"%d" % rec.rfc822_size]
            elif name == "INTERNALDATE":
                value = [render_internaldate(rec.internal_date)]
            elif name == "MODSEQ":
                value = [render_modseq(rec.modseq)]
            else:
                assert mailbox is not None
                try:
                    value = _message_item(mailbox, rec.uid, rec.rfc822_size, attr, opened)
                except MailError as e:
                    if e.kind is ErrorKind.EXPUNGED:
                        raise _Expunged() from None
                    raise
            out.append(head + b" ")
            out.extend(value)
        if add_flags:
            # RFC 3501 6.4.5: the implicit \Seen is reported with the FETCH.
            out.append(b" FLAGS " + render_flags(flags, recent=recent))
        if add_condstore:
            # RFC 7162 3.1: a FETCH that set \Seen reports UID and MODSEQ once CONDSTORE is on.
            names = {a.name for a in attrs}
            if "UID" not in names:
                out.append(b" UID %d" % rec.uid)
            if "MODSEQ" not in names:
                out.append(b" MODSEQ " + render_modseq(rec.modseq))
    finally:
        f = opened.get("file")
        if f is not None:
            f.close()
    out.append(b")\r\n")
    return _merge(out)


def _merge(pieces: list[Piece]) -> list[Piece]:
    """Join adjacent byte pieces so the server writes few, larger chunks."""
    merged: list[Piece] = []
    run: list[bytes] = []
    for p in pieces:
        if isinstance(p, bytes):
            run.append(p)
            continue
        if run:
            merged.append(b"".join(run))
            run = []
        merged.append(p)
    if run:
        merged.append(b"".join(run))
    return merged


Job = tuple[int, MessageRecord, frozenset[str], bool, bool, bool]


def _render_batch(
    mailbox: Mailbox | None, jobs: Sequence[Job], attrs: Sequence[FetchAttr]
) -> tuple[list[Piece], int]:
    """Render a batch (blocking when ``mailbox`` is given and items need it).

    Returns:
        The responses of the whole batch, adjacent bytes joined (one write per
        batch for the reactor, not one per message), and how many messages were
        skipped as expunged.
    """
    if _cache_only(attrs):
        return _cached_batch(mailbox, jobs, attrs)
    out: list[Piece] = []
    skipped = 0
    for seq, rec, flags, recent, add_flags, add_cs in jobs:
        try:
            out.extend(render_message(mailbox, seq, rec, flags, recent, attrs, add_flags, add_cs))
        except _Expunged:
            skipped += 1
    return _merge(out), skipped


def _cached_batch(
    mailbox: Mailbox | None, jobs: Sequence[Job], attrs: Sequence[FetchAttr]
) -> tuple[list[Piece], int]:
    """:func:`_render_batch` when every item comes from the index or the store's cache.

    The same bytes as :func:`render_message`, without its per-message set-up:
    one ``* n FETCH (...)`` line per message, the whole batch joined into one
    piece. Only for items :func:`_cache_only` accepts.
    """
    items = [(a.name, a.response_name() + b" ") for a in attrs]
    names = {a.name for a in attrs}
    lines: list[bytes] = []
    skipped = 0
    for seq, rec, flags, recent, add_flags, add_cs in jobs:
        uid = rec.uid
        parts: list[bytes] = []
        try:
            for name, head in items:
                if name == "ENVELOPE":
                    assert mailbox is not None
                    parts.append(head + render_envelope(mailbox.envelope(uid)))
                elif name == "BODYSTRUCTURE":
                    assert mailbox is not None
                    parts.append(head + render_body(mailbox.bodystructure(uid)))
                elif name == "BODY":
                    assert mailbox is not None
                    body = render_body(mailbox.bodystructure(uid), extensible=False)
                    parts.append(head + body)
                elif name == "FLAGS":
                    parts.append(head + render_flags(flags, recent=recent))
                elif name == "UID":
                    parts.append(head + b"%d" % uid)
                elif name == "RFC822.SIZE":
                    parts.append(head + b"%d" % rec.rfc822_size)
                elif name == "MODSEQ":
                    parts.append(head + render_modseq(rec.modseq))
                else:
                    assert name == "INTERNALDATE", name
                    parts.append(head + render_internaldate(rec.internal_date))
        except MailError as e:
            if e.kind is ErrorKind.EXPUNGED:
                skipped += 1
                continue
            raise
        if add_flags:
            # RFC 3501 6.4.5: the implicit \Seen is reported with the FETCH.
            parts.append(b"FLAGS " + render_flags(flags, recent=recent))
        if add_cs:
            # RFC 7162 3.1: a FETCH that set \Seen reports UID and MODSEQ with CONDSTORE.
            if "UID" not in names:
                parts.append(b"UID %d" % uid)
            if "MODSEQ" not in names:
                parts.append(b"MODSEQ " + render_modseq(rec.modseq))
        lines.append(b"* %d FETCH (%s)\r\n" % (seq, b" ".join(parts)))
    return ([b"".join(lines)] if lines else []), skipped


#: Items the index answers, and items the store's cache answers (without a section).
_INDEX_ITEMS: Final = frozenset({"FLAGS", "UID", "RFC822.SIZE", "INTERNALDATE", "MODSEQ"})
_CACHED_ITEMS: Final = frozenset({"ENVELOPE", "BODYSTRUCTURE", "BODY"})


def _cache_only(attrs: Sequence[FetchAttr]) -> bool:
    """Whether every message item is served from the index or the store's cache, not the file."""
    return all(
        a.name in _INDEX_ITEMS or (a.name in _CACHED_ITEMS and a.section is None) for a in attrs
    )


def _index_only_batch(
    view: SelectedView, pairs: Sequence[tuple[int, int]], attrs: Sequence[FetchAttr]
) -> bytes:
    """``* n FETCH (...)`` lines for items the index answers (FLAGS, UID, MODSEQ, sizes, dates).

    The fast path of ``FETCH 1:* (UID FLAGS)``, the command every client
    opens a mailbox with: one bytes object per batch, each distinct flag set
    encoded once.
    """
    names = [a.name for a in attrs]
    flag_bytes: dict[tuple[frozenset[str], bool], bytes] = {}
    lines: list[bytes] = []
    for seq, uid in pairs:
        rec = view.record(uid)
        if rec is None:
            continue
        parts: list[bytes] = []
        for name in names:
            if name == "FLAGS":
                key = (rec.flags, view.is_recent(uid))
                encoded = flag_bytes.get(key)
                if encoded is None:
                    encoded = flag_bytes[key] = render_flags(key[0], recent=key[1])
                parts.append(b"FLAGS " + encoded)
            elif name == "UID":
                parts.append(b"UID %d" % uid)
            elif name == "MODSEQ":
                parts.append(b"MODSEQ (%d)" % rec.modseq)
            elif name == "RFC822.SIZE":
                parts.append(b"RFC822.SIZE %d" % rec.rfc822_size)
            else:
                parts.append(b"INTERNALDATE " + render_internaldate(rec.internal_date))
        lines.append(b"* %d FETCH (%s)\r\n" % (seq, b" ".join(parts)))
    return b"".join(lines)


async def do_fetch(session: ImapSession, cmd: c.Fetch) -> Outcome:
    sel = session.selected
    assert sel is not None
    view = sel.view
    attrs = cmd.attrs
    if any(a.name.startswith("BINARY") for a in attrs):
        return Outcome(r.tagged(cmd.tag, BAD, "BINARY is not supported by this server."))
    if cmd.vanished and not session.qresync:
        # RFC 7162 3.2.6: VANISHED is a QRESYNC modifier.
        return Outcome(r.tagged(cmd.tag, BAD, "VANISHED needs ENABLE QRESYNC first."))
    if out_of_range(view, cmd.sequence, uid=cmd.uid):
        return Outcome(r.tagged(cmd.tag, BAD, INVALID_SET))
    if cmd.changed_since is not None or any(a.name == "MODSEQ" for a in attrs):
        # RFC 7162 3.1: both are CONDSTORE-enabling.
        condstore.enable(session, [condstore.CONDSTORE])
    since = cmd.changed_since
    if since is not None:
        # Look at the store first: the answer is "what changed since n", and a change
        # made elsewhere a moment ago belongs in it (expunges only for UID FETCH).
        await session.sync(allow_expunge=expunge_allowed_during(cmd))
    pairs = view.resolve(cmd.sequence, uid=cmd.uid)
    if since is not None:
        # RFC 7162 3.1.4.1: only messages whose MODSEQ is above CHANGEDSINCE.
        pairs = [
            (seq, uid)
            for seq, uid in pairs
            if (rec := view.record(uid)) is not None and rec.modseq > since
        ]
        if cmd.vanished:
            # RFC 7162 3.2.6: expunged UIDs of the set first, before any FETCH.
            gone = await session.run(sel.mailbox.vanished_since, since)
            line = condstore.vanished_earlier(view, gone, cmd.sequence)
            if line is not None:
                session.out.write(line)
    seen_now: set[int] = set()
    if not sel.readonly and any(a.sets_seen for a in attrs):
        targets = [
            uid for _s, uid in pairs if SEEN not in view.flags_of(uid) and not view.is_expunged(uid)
        ]
        if targets:
            update = await session.run(sel.mailbox.set_flags, targets, [SEEN], FlagMode.ADD)
            view.note_records(update.changed)
            seen_now = {rec.uid for rec in update.changed}
    wants_flags = any(a.name == "FLAGS" for a in attrs)
    needs_message = any(a.needs_message for a in attrs)
    skipped = 0
    out = session.out
    if not needs_message and not seen_now:
        # Nothing to read and no \Seen to report: render from the index, a batch at a time.
        for i in range(0, len(pairs), INDEX_BATCH):
            out.write(_index_only_batch(view, pairs[i : i + INDEX_BATCH], attrs))
            await out.drain()
        return Outcome(r.tagged(cmd.tag, OK, "Fetch completed."))
    size = CACHED_BATCH if _cache_only(attrs) else FETCH_BATCH
    for i in range(0, len(pairs), size):
        jobs: list[Job] = []
        for seq, uid in pairs[i : i + size]:
            rec = view.record(uid)
            if rec is None:
                continue
            add_flags = uid in seen_now and not wants_flags
            add_cs = uid in seen_now and view.condstore
            jobs.append((seq, rec, view.flags_of(uid), view.is_recent(uid), add_flags, add_cs))
        if needs_message:
            rendered, gone = await session.run(_render_batch, sel.mailbox, jobs, attrs)
            skipped += gone
        else:
            rendered, _none = _render_batch(None, jobs, attrs)
        for piece in rendered:
            if isinstance(piece, bytes):
                out.write(piece)
            else:
                await out.stream(piece)
        await out.drain()
    if skipped:
        # RFC 2180 4.1.2: the messages were expunged by another session meanwhile.
        text = "Some of the requested messages no longer exist."
        return Outcome(r.tagged(cmd.tag, NO, text, Code.EXPUNGEISSUED))
    return Outcome(r.tagged(cmd.tag, OK, "Fetch completed."))
