"""Index rows -> API records, and the checks every flag from a client goes through."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from mailsuite.errors import ErrorKind, MailError
from mailsuite.store.api import RECENT, SYSTEM_FLAGS, MessageRecord
from mailsuite.store.maildir.index import IndexRow

if TYPE_CHECKING:
    from mailsuite.store.maildir.core import MailboxCore

__all__ = ["check_flags", "record_of", "records_of"]

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


def record_of(row: IndexRow) -> MessageRecord:
    flags = _FLAG_SETS.get(row.flags)
    if flags is None:
        flags = frozenset(row.flags.split(" ")) if row.flags else frozenset()
        if len(_FLAG_SETS) < 4096:
            _FLAG_SETS[row.flags] = flags
    return MessageRecord(row.uid, flags, row.modseq, row.vsize, row.idate,
                         row.name.partition(":")[0])  # fmt: skip


def records_of(core: MailboxCore) -> tuple[MessageRecord, ...]:
    """All records sorted by UID, rebuilt only when the core's rows changed."""
    cached = core.records_cache
    if cached is not None and cached[0] == core.version:
        return cached[1]
    per_uid = core.record_memo
    out = []
    for uid in sorted(core.rows):
        row = core.rows[uid]
        memo = per_uid.get(uid)
        if memo is None or memo[0] is not row:
            memo = (row, record_of(row))
            per_uid[uid] = memo
        out.append(memo[1])
    if len(per_uid) > len(out):
        for uid in [u for u in per_uid if u not in core.rows]:
            del per_uid[uid]
    records = tuple(out)
    core.records_cache = (core.version, records)
    return records
