"""Index rows -> API records, and the checks every flag from a client goes through."""

from __future__ import annotations

import bisect
import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from mailsuite.errors import ErrorKind, MailError
from mailsuite.store.api import RECENT, SYSTEM_FLAGS, MessageRecord
from mailsuite.store.maildir.index import IndexRow

if TYPE_CHECKING:
    from mailsuite.store.maildir.core import MailboxCore

__all__ = ["check_flags", "gc_paused", "record_of", "records_of"]

# RFC 3501 section 9: atom-specials may not appear in a flag keyword.
_ATOM_SPECIALS = frozenset('(){ %*"\\]')
_SYSTEM_BY_LOWER = {f.lower(): f for f in SYSTEM_FLAGS}
MAX_KEYWORD_CHARS = 128


def check_flags(flags: Iterable[str]) -> frozenset[str]:
    """Canonical flags: system flags in their usual case, ``\\Recent`` dropped.

    Raises:
        MailError: PARAMS for an unknown system flag or a keyword that is not an atom.
    """
    out = set()
    for f in flags:
        if f.startswith("\\"):
            canon = _SYSTEM_BY_LOWER.get(f.lower())
            if canon is None:
                if f.lower() == RECENT.lower():
                    continue  # RFC 3501 2.3.2: \Recent cannot be set by a client
                raise MailError(ErrorKind.PARAMS, f"Invalid system flag {f}")
            out.add(canon)
            continue
        if (
            not f
            or len(f) > MAX_KEYWORD_CHARS
            or any(c in _ATOM_SPECIALS or not 0x20 < ord(c) < 0x7F for c in f)
        ):
            raise MailError(ErrorKind.PARAMS, f"Invalid keyword {f[:40]!r}")
        out.add(f)
    return frozenset(out)


_FLAG_SETS: dict[str, frozenset[str]] = {}  # few distinct flag strings: share their sets

# MessageRecord is a frozen dataclass: its __init__ sets each field through
# object.__setattr__. Setting the slots through their descriptors does the same
# thing at half the cost, which matters when a 100,000-message mailbox is opened.
_new = object.__new__
_set_uid = MessageRecord.uid.__set__  # type: ignore[attr-defined,misc]
_set_flags = MessageRecord.flags.__set__  # type: ignore[attr-defined,misc]
_set_modseq = MessageRecord.modseq.__set__  # type: ignore[attr-defined,misc]
_set_size = MessageRecord.rfc822_size.__set__  # type: ignore[attr-defined,misc]
_set_date = MessageRecord.internal_date.__set__  # type: ignore[attr-defined,misc]
_set_filename = MessageRecord.filename.__set__  # type: ignore[attr-defined,misc]


def record_of(row: IndexRow) -> MessageRecord:
    flags = _FLAG_SETS.get(row.flags)
    if flags is None:
        flags = frozenset(row.flags.split(" ")) if row.flags else frozenset()
        if len(_FLAG_SETS) < 4096:
            _FLAG_SETS[row.flags] = flags
    rec = _new(MessageRecord)
    _set_uid(rec, row.uid)
    _set_flags(rec, flags)
    _set_modseq(rec, row.modseq)
    _set_size(rec, row.vsize)
    _set_date(rec, row.idate)
    _set_filename(rec, row.name.partition(":")[0])
    return rec


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while many long-lived objects are made.

    Loading 100,000 records makes several hundred thousand tuples; each
    allocation threshold reached on the way would traverse all of them again.
    Reference counting still frees everything as usual meanwhile.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def records_of(core: MailboxCore) -> tuple[MessageRecord, ...]:
    """All records sorted by UID, rebuilt only when the core's rows changed.

    ``core.record_memo`` holds the record of every row; :meth:`MailboxCore.refresh`
    drops the entry of each row it replaces, so only changed rows are rebuilt.
    When rows were only removed, replaced or added above the highest UID (an
    EXPUNGE, a STORE, an APPEND, a delivery), the previous tuple is patched
    instead of rebuilt, so a snapshot after one change costs little more than
    copying the tuple.
    """
    cached = core.records_cache
    if cached is not None and cached[0] == core.version:
        return cached[1]
    records = None
    if cached is not None and core.changed_uids is not None:
        records = _patched(core, cached[1], core.changed_uids, core.removed_uids)
    if records is None:
        records = _rebuilt(core)
    core.changed_uids = set()
    core.removed_uids = set()
    core.records_cache = (core.version, records)
    return records


def _uid(rec: MessageRecord) -> int:
    return rec.uid


def _patched(
    core: MailboxCore, prev: tuple[MessageRecord, ...], changed: set[int], removed: set[int]
) -> tuple[MessageRecord, ...] | None:
    """``prev`` without the removed rows, the changed ones replaced and new ones appended.

    Returns None when that cannot do (the caller rebuilds the whole tuple).
    An EXPUNGE of a few messages so costs a copy of the tuple, not a record
    per message.
    """
    out = list(prev)
    for uid in sorted(removed, reverse=True):
        i = bisect.bisect_left(out, uid, key=_uid)
        if i < len(out) and out[i].uid == uid:
            del out[i]
    top = out[-1].uid if out else 0
    memo, rows = core.record_memo, core.rows
    fresh = []
    for uid in changed:
        row = rows.get(uid)
        if row is None:
            return None
        rec = memo[uid] = record_of(row)
        if uid > top:
            fresh.append(rec)
            continue
        i = bisect.bisect_left(out, uid, key=_uid)
        if i == len(out) or out[i].uid != uid:
            return None  # a UID below the top that was not there before: rebuild
        out[i] = rec
    if len(out) + len(fresh) != len(rows):
        return None
    fresh.sort(key=_uid)
    out.extend(fresh)
    return tuple(out)


def _rebuilt(core: MailboxCore) -> tuple[MessageRecord, ...]:
    memo, rows = core.record_memo, core.rows
    with gc_paused():
        out: list[MessageRecord] = []
        append = out.append
        get = memo.get
        for uid in sorted(rows):
            rec = get(uid)
            if rec is None:
                rec = memo[uid] = record_of(rows[uid])
            append(rec)
        if len(memo) > len(out):
            for uid in [u for u in memo if u not in rows]:
                del memo[uid]
        return tuple(out)
