"""Compiling a search program into per-message predicates, cheapest branches first.

Each key becomes a closure over a :class:`~.view.MessageView` plus a cost:
:data:`COST_RECORD` (answered from the index record), :data:`COST_HEADER`
(needs the header) or :data:`COST_BODY` (needs the whole message). AND and OR
try their cheaper operands first, so a message file is opened only when a
header or body key still decides the outcome.
"""

from __future__ import annotations

import bisect
import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from mailsuite.message import Message
from mailsuite.store.api import RECENT, MailboxSnapshot

from ..commands.search import (
    AllKey,
    AndKey,
    DateKey,
    FlagKey,
    HeaderKey,
    ModseqKey,
    NotKey,
    OrKey,
    SearchKey,
    SetKey,
    SizeKey,
    TextKey,
    WithinKey,
)
from ..wire.seqset import SequenceSet
from .text import (
    ADDRESS_FIELDS,
    QUOTING,
    Needle,
    address_forms,
    body_may_contain,
    header_may_contain,
    header_text,
    part_header_texts,
)
from .view import MessageView

__all__ = ["COST_BODY", "COST_HEADER", "COST_RECORD", "Pred", "SearchEnv", "compile_key"]

# How much a predicate costs per message: read from the index record, read
# the message header, read the whole message.
COST_RECORD: Final = 0
COST_HEADER: Final = 1
COST_BODY: Final = 2

Pred = Callable[[MessageView], bool]


@dataclass(slots=True)
class SearchEnv:
    """What every predicate of one search may consult."""

    snapshot: MailboxSnapshot
    seen_sequence: Callable[[int], int] | None
    recent: frozenset[int]
    saved: frozenset[int]
    now: float
    tz: datetime.tzinfo | None
    _largest_seq: int | None = None

    def seq(self, ctx: MessageView) -> int:
        if self.seen_sequence is None:
            return ctx.index + 1
        return self.seen_sequence(ctx.record.uid)

    def largest_seq(self) -> int:
        # RFC 3501 6.4.8 / 9: "*" is the largest number in use, here the
        # last message the client has been told about.
        if self._largest_seq is None:
            msgs = self.snapshot.messages
            if self.seen_sequence is None:
                self._largest_seq = len(msgs)
            else:
                self._largest_seq = max((self.seen_sequence(m.uid) for m in msgs), default=0)
        return self._largest_seq

    def day_start(self, day: datetime.date) -> float:
        """POSIX time of midnight starting ``day`` in the server's zone (or ``tz``)."""
        try:
            return datetime.datetime.combine(day, datetime.time(), tzinfo=self.tz).timestamp()
        except (OverflowError, ValueError, OSError):
            return float("-inf") if day.year < 1970 else float("inf")

    def next_day_start(self, day: datetime.date) -> float:
        try:
            return self.day_start(day + datetime.timedelta(days=1))
        except OverflowError:
            return float("inf")


def compile_key(key: SearchKey, env: SearchEnv) -> tuple[Pred, int]:
    """A predicate for ``key`` and what it costs per message."""
    if isinstance(key, AndKey):
        return _and([compile_key(k, env) for k in key.keys])
    if isinstance(key, OrKey):
        parts = sorted(
            (compile_key(key.left, env), compile_key(key.right, env)), key=lambda p: p[1]
        )
        (a, ca), (b, cb) = parts
        return (lambda c: a(c) or b(c)), max(ca, cb)
    if isinstance(key, NotKey):
        inner, cost = compile_key(key.key, env)
        return (lambda c: not inner(c)), cost
    if isinstance(key, AllKey):
        return (lambda c: True), COST_RECORD
    if isinstance(key, FlagKey):
        return _flag(key, env), COST_RECORD
    if isinstance(key, SetKey):
        return _set(key, env), COST_RECORD
    if isinstance(key, SizeKey):
        n = key.size
        if key.larger:
            return (lambda c: c.record.rfc822_size > n), COST_RECORD
        return (lambda c: c.record.rfc822_size < n), COST_RECORD
    if isinstance(key, ModseqKey):
        # RFC 7162 3.1.5: the per-flag entry may be answered with the message's
        # own MODSEQ, which is >= the flag's; we keep no per-flag MODSEQ.
        m = key.modseq
        return (lambda c: c.record.modseq >= m), COST_RECORD
    if isinstance(key, WithinKey):
        # RFC 5032 3: OLDER n is "older than n seconds", YOUNGER n "within n
        # seconds"; one is exactly the other's complement.
        limit = env.now - key.seconds
        if key.older:
            return (lambda c: c.record.internal_date < limit), COST_RECORD
        return (lambda c: c.record.internal_date >= limit), COST_RECORD
    if isinstance(key, DateKey):
        return (_sent_date(key, env) if key.sent else _internal_date(key, env)), (
            COST_HEADER if key.sent else COST_RECORD
        )
    if isinstance(key, HeaderKey):
        return _header(key), COST_HEADER
    if isinstance(key, TextKey):
        return _text(key)
    raise TypeError(f"unknown search key {key!r}")


def _and(parts: list[tuple[Pred, int]]) -> tuple[Pred, int]:
    # Cheapest first (stable: equal costs keep the client's order).
    parts.sort(key=lambda p: p[1])
    preds = tuple(p for p, _ in parts)
    cost = max((c for _, c in parts), default=COST_RECORD)
    if len(preds) == 1:
        return preds[0], cost
    if len(preds) == 2:
        a, b = preds
        return (lambda c: a(c) and b(c)), cost
    return (lambda c: all(p(c) for p in preds)), cost


def _flag(key: FlagKey, env: SearchEnv) -> Pred:
    present = key.present
    if key.flag == RECENT:
        # RFC 3501 2.3.2: \Recent is session state, not a stored flag.
        recent = env.recent
        return lambda c: (c.record.uid in recent) is present
    if key.flag.startswith("\\"):
        flag = key.flag
        return lambda c: (flag in c.record.flags) is present
    # Keywords are compared without regard to case, as Dovecot and Cyrus do.
    want = key.flag.casefold()

    def keyword(c: MessageView) -> bool:
        flags = c.record.flags
        return (key.flag in flags or any(f.casefold() == want for f in flags)) is present

    return keyword


def _set(key: SetKey, env: SearchEnv) -> Pred:
    seq: SequenceSet = key.sequence
    if seq.saved:
        # RFC 5182 2.1: "$" is the saved result (UIDs, so it survives
        # expunges), the empty set when nothing was saved.
        saved = env.saved
        return lambda c: c.record.uid in saved
    msgs = env.snapshot.messages
    if key.uid:
        ranges = seq.resolve(msgs[-1].uid if msgs else 0)
        lows = [lo for lo, _ in ranges]
        return lambda c: _in_ranges(c.record.uid, ranges, lows)
    if env.seen_sequence is None:
        ranges = seq.resolve(len(msgs))
        lows = [lo for lo, _ in ranges]
        return lambda c: _in_ranges(c.index + 1, ranges, lows)
    # Resolved on first use: "*" then needs the client's number for every message.
    resolved: list[tuple[list[tuple[int, int]], list[int]]] = []

    def by_seq(c: MessageView) -> bool:
        if not resolved:
            rs = seq.resolve(env.largest_seq())
            resolved.append((rs, [lo for lo, _ in rs]))
        rs, lo = resolved[0]
        n = env.seq(c)
        return n > 0 and _in_ranges(n, rs, lo)

    return by_seq


def _in_ranges(n: int, ranges: list[tuple[int, int]], lows: list[int]) -> bool:
    i = bisect.bisect_right(lows, n) - 1
    return i >= 0 and n <= ranges[i][1]


def _internal_date(key: DateKey, env: SearchEnv) -> Pred:
    # Day boundaries computed once, so each message is one float comparison.
    start = env.day_start(key.date)
    end = env.next_day_start(key.date)
    if key.which == "BEFORE":
        return lambda c: c.record.internal_date < start
    if key.which == "ON":
        return lambda c: start <= c.record.internal_date < end
    return lambda c: c.record.internal_date >= start  # SINCE


def _sent_date(key: DateKey, env: SearchEnv) -> Pred:
    day = key.date
    tz = env.tz
    if key.which == "BEFORE":
        return lambda c: (d := c.sent_date(tz)) is not None and d < day
    if key.which == "ON":
        return lambda c: (d := c.sent_date(tz)) is not None and d == day
    return lambda c: (d := c.sent_date(tz)) is not None and d >= day  # SINCE


def _header(key: HeaderKey) -> Pred:
    name = key.field
    if not key.value:
        # RFC 3501 6.4.4 HEADER: an empty string matches every message that
        # has the field, whatever its value.
        return lambda c: bool(c.header_values(name))
    needle = Needle.of(key.value)
    is_address = name.lower() in ADDRESS_FIELDS

    # An address field's parsed form ("Doe, John <j@x>") is not a substring of
    # the raw bytes, so only other fields can be ruled out from those.
    prefilter = needle.ascii is not None and not is_address

    def match(c: MessageView) -> bool:
        if prefilter:
            block = c.header_block(name)
            if block is not None and not header_may_contain(block, needle):
                return False
        values = c.header_values(name)
        if any(needle.found_in(v) for v in values):
            return True
        if not is_address:
            return False
        # The parsed form needs the raw value (a decoded name may hold "," or
        # "<"); it differs from the decoded one only through quotes, comments
        # and escapes, so a value without them is not parsed again.
        raw = [v for v in c.raw_header_values(name) if QUOTING.search(v)]
        return any(needle.found_in(v) for v in address_forms(raw))

    return match


def _text(key: TextKey) -> tuple[Pred, int]:
    if not key.value:
        return (lambda c: True), COST_RECORD  # every text contains the empty string
    needle = Needle.of(key.value)
    with_header = key.where == "TEXT"

    def match(c: MessageView) -> bool:
        msg = c.message()
        if msg is None:
            return False
        if with_header and _header_text_has(msg, needle):
            return True
        raw = msg.full_bytes()
        # Most plain mail is ruled out from its raw bytes without a MIME parse.
        maybe = body_may_contain(raw, needle)
        if maybe and any(needle.found_in(part) for part in msg.text_parts()):
            return True
        if not with_header or (not maybe and b"=?" not in raw):
            return False  # part headers hold nothing the raw bytes do not
        return any(needle.found_in(h) for h in part_header_texts(msg))

    return match, COST_BODY


def _header_text_has(msg: Message, needle: Needle) -> bool:
    # The whole header block, unfolded and decoded in one pass ("Subject: hello"
    # is found too); one call instead of one per field keeps TEXT cheap.
    return needle.found_in(header_text(msg.header_bytes()))
