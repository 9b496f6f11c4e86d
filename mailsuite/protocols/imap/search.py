"""The SEARCH evaluator: which messages of a mailbox snapshot match a search program.

RFC 3501 section 6.4.4 (every key), RFC 7162 section 3.1.5 (MODSEQ), RFC 5032
(OLDER, YOUNGER), RFC 5182 (``$``). The command layer parses the program
(:mod:`.commands.search`); this module only decides. It imports no Twisted:
the session runs it in the thread pool through ``run_blocking``.

Speed comes from the order of work. The program is compiled once into
predicates, and every AND/OR tries its cheapest branches first: flags, UIDs,
sequence numbers, sizes, internal dates and MODSEQ come from the
:class:`~mailsuite.store.api.MessageRecord` without touching the disk; a
message is loaded only when a header or body key still decides, and a body is
read only when a BODY/TEXT key does (``Message`` is lazy: header accessors
read the header alone). With the store's header cache (:func:`header_cache_for`)
the common fields come from the index without opening a file, and plain ASCII
mail is ruled out from its raw bytes before any header or MIME parsing when
they cannot hold the string (see :mod:`.searchkeys.text`).

Matching rules (the RFC says "contains", case-insensitively; the rest is ours,
close to Dovecot's): header values are RFC 2047-decoded and unfolded; address
fields also match their parsed display form (``Name <local@domain>``); both
sides are case-folded (Unicode ``casefold``, NFC); a string containing white
space matches across any run of white space, so a phrase split by folding or
a line break in a body still matches. BODY searches the decoded text of
text/* parts (transfer encoding and charset undone); TEXT searches every
header field and then those parts. Dates compare days only: BEFORE/ON/SINCE
take the internal date in the server's time zone, SENT* the day written in
the Date: field (RFC 3501: "disregarding time and timezone"); for a message
without a readable Date: field the internal date stands in, as RFC 5256 2.2
has it for SORT (Dovecot takes 1 January 1970 instead).
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Collection

from mailsuite.message import Message
from mailsuite.store.api import MailboxSnapshot

from .commands.search import CHARSETS, AndKey, ModseqKey, NotKey, OrKey, SearchKey
from .searchkeys import (
    COST_RECORD,
    HeaderCache,
    MessageView,
    SearchEnv,
    compile_key,
    header_cache_for,
)

__all__ = [
    "HeaderCache",
    "UnsupportedCharset",
    "evaluate_search",
    "header_cache_for",
    "highest_modseq",
    "uses_modseq",
]


class UnsupportedCharset(ValueError):
    """The SEARCH CHARSET is neither UTF-8 nor US-ASCII (answer NO [BADCHARSET])."""


def evaluate_search(
    key: SearchKey,
    snapshot: MailboxSnapshot,
    load_message: Callable[[int], Message],
    *,
    seen_sequence: Callable[[int], int] | None = None,
    recent_uids: frozenset[int] = frozenset(),
    saved_result: Collection[int] | None = None,
    charset: str = "UTF-8",
    now: Callable[[], float] = time.time,
    tz: datetime.tzinfo | None = None,
    header_cache: HeaderCache | None = None,
) -> list[int]:
    """The UIDs of the messages of ``snapshot`` that match ``key``, ascending.

    Blocking (it may read message files): call it through ``run_blocking``.

    Args:
        key: the parsed search program (``Search.key`` of the command layer).
        snapshot: the mailbox as the session sees it.
        load_message: UID -> lazy :class:`Message` (``Mailbox.message``);
            called only for messages a header or body key still decides. A
            :class:`MailError` EXPUNGED from it drops the message from the result.
        seen_sequence: UID -> the sequence number the client knows it by (0 when
            it has none yet); by default the position in ``snapshot``.
        recent_uids: messages \\Recent to this session, on top of
            ``snapshot.recent_uids``.
        saved_result: the UIDs saved by SEARCH RETURN (SAVE) (RFC 5182) that
            ``$`` stands for; None when nothing was saved (``$`` matches nothing).
        charset: the SEARCH CHARSET; the strings in ``key`` are already text.
        now: the clock for OLDER/YOUNGER.
        tz: the zone whose days BEFORE/ON/SINCE compare; None is the server's.
        header_cache: the store's header cache (:func:`header_cache_for`); fields
            it holds are read from it instead of the message file.

    Returns:
        Matching UIDs in ascending order.

    Raises:
        UnsupportedCharset: ``charset`` is not UTF-8 or US-ASCII.
        MailError: reading a message failed for a reason other than an expunge.
    """
    if charset.upper() not in CHARSETS:
        raise UnsupportedCharset(f"Unsupported charset {charset}")
    messages = snapshot.messages
    if not messages:
        return []
    env = SearchEnv(
        snapshot=snapshot,
        seen_sequence=seen_sequence,
        recent=recent_uids | snapshot.recent_uids,
        saved=frozenset(saved_result or ()),
        now=now(),
        tz=tz,
    )
    pred, cost = compile_key(key, env)
    out: list[int] = []
    if cost == COST_RECORD:
        # Nothing can load a file: no per-message bookkeeping beyond the record.
        for i, rec in enumerate(messages):
            if pred(MessageView(rec, i, load_message)):
                out.append(rec.uid)
        return out
    for i, rec in enumerate(messages):
        ctx = MessageView(rec, i, load_message, header_cache)
        if pred(ctx) and not ctx.gone:
            out.append(rec.uid)
    return out


def uses_modseq(key: SearchKey) -> bool:
    """Whether the program has a MODSEQ key (RFC 7162 3.1.5: answer with (MODSEQ n))."""
    if isinstance(key, ModseqKey):
        return True
    if isinstance(key, AndKey):
        return any(uses_modseq(k) for k in key.keys)
    if isinstance(key, OrKey):
        return uses_modseq(key.left) or uses_modseq(key.right)
    if isinstance(key, NotKey):
        return uses_modseq(key.key)
    return False


def highest_modseq(snapshot: MailboxSnapshot, uids: Collection[int]) -> int:
    """The highest MODSEQ among ``uids`` (RFC 7162 3.1.5 SEARCH response); 0 for none."""
    want = uids if isinstance(uids, (set, frozenset)) else set(uids)
    return max((m.modseq for m in snapshot.messages if m.uid in want), default=0)
