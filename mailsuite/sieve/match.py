"""Comparators and match types (RFC 5228 2.7.1 to 2.7.3, RFC 4790, RFC 5231).

A :class:`Matcher` is built once at compile time from the comparator, the
match type and the key list, so evaluating a test is only string work.

``:matches`` never uses a backtracking regular expression over the whole
pattern: header values come from strangers, and ``"*a*b*c*d*"`` against a long
value would take polynomial time. The pattern is cut at each ``*`` into
fixed-length segments, and each segment is found leftmost in turn, which is
linear in the value for each segment and exact for glob patterns.
"""

from __future__ import annotations

import enum
import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = [
    "COMPARATORS",
    "RELATIONS",
    "Comparator",
    "MatchType",
    "Matcher",
    "ascii_casefold",
]


class Comparator(enum.Enum):
    OCTET = "i;octet"
    ASCII_CASEMAP = "i;ascii-casemap"
    ASCII_NUMERIC = "i;ascii-numeric"  # RFC 4790 9.1: needs require "comparator-i;ascii-numeric"


COMPARATORS: Final = {c.value: c for c in Comparator}


class MatchType(enum.Enum):
    IS = "is"
    CONTAINS = "contains"
    MATCHES = "matches"
    VALUE = "value"  # RFC 5231 4.1
    COUNT = "count"  # RFC 5231 4.2


# RFC 5231 5: "value RELATION key".
RELATIONS: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
    "eq": operator.eq,
    "ne": operator.ne,
}

_LEADING_DIGITS: Final = re.compile(r"[0-9]*")


def _numeric(value: str) -> tuple[int, int]:
    # RFC 4790 9.1.1: the leading digits are the number; a string that does not
    # start with a digit is positive infinity (and all such strings are equal).
    digits = _LEADING_DIGITS.match(value)
    assert digits is not None
    if not digits.group():
        return (1, 0)
    return (0, int(digits.group()))


def _order_key(comparator: Comparator) -> Callable[[str], Any]:
    if comparator is Comparator.ASCII_NUMERIC:
        return _numeric
    if comparator is Comparator.ASCII_CASEMAP:
        # RFC 4790 9.2: order as i;octet after mapping a-z to A-Z (so "_" sorts
        # after every letter). Pigeonhole orders by octets here instead.
        return _ascii_upper
    # i;octet orders by octets; UTF-8 preserves code point order, so str order is it.
    return str


# RFC 4790 9.2: i;ascii-casemap folds only the 26 ASCII letters, never others.
_ASCII_FOLD: Final = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


def ascii_casefold(value: str) -> str:
    """Lower-case ASCII letters only (i;ascii-casemap), leaving every other character alone."""
    return value.translate(_ASCII_FOLD)


_ASCII_UPPER: Final = {c: c - 32 for c in range(ord("a"), ord("z") + 1)}


def _ascii_upper(value: str) -> str:
    return value.translate(_ASCII_UPPER)


@dataclass(frozen=True, slots=True)
class _Glob:
    """A ``:matches`` pattern cut at its ``*`` wildcards into fixed-length segments."""

    segments: tuple[re.Pattern[str], ...]
    lengths: tuple[int, ...]
    qmarks: tuple[tuple[int, ...], ...]  # offsets of "?" inside each segment
    starred: bool  # at least one "*": the segments are separated by "anything"

    @classmethod
    def compile(cls, pattern: str) -> _Glob:
        # RFC 5228 2.7.1: "*" matches zero or more characters, "?" exactly one,
        # and a backslash makes the next character literal ("\\*" in the script
        # source is "\*" in the string value, a literal star).
        segments: list[list[str]] = [[]]
        lengths = [0]
        qmarks: list[list[int]] = [[]]
        i = 0
        n = len(pattern)
        while i < n:
            c = pattern[i]
            if c == "\\" and i + 1 < n:
                segments[-1].append(re.escape(pattern[i + 1]))
                lengths[-1] += 1
                i += 2
                continue
            if c == "*":
                segments.append([])
                lengths.append(0)
                qmarks.append([])
            elif c == "?":
                segments[-1].append(".")
                qmarks[-1].append(lengths[-1])
                lengths[-1] += 1
            else:
                segments[-1].append(re.escape(c))
                lengths[-1] += 1
            i += 1
        compiled = tuple(re.compile("".join(s), re.DOTALL) for s in segments)
        return cls(compiled, tuple(lengths), tuple(map(tuple, qmarks)), len(segments) > 1)

    def starts(self, value: str) -> list[int] | None:
        """Where each segment matched, or None when the pattern does not match."""
        segs = self.segments
        if not self.starred:
            return [0] if segs[0].fullmatch(value) is not None else None
        first, last = segs[0], segs[-1]
        head_len, tail_len = self.lengths[0], self.lengths[-1]
        n = len(value)
        if head_len + tail_len > n:
            return None
        if first.match(value) is None:
            return None
        tail_start = n - tail_len
        if last.fullmatch(value, tail_start) is None:
            return None
        # Middle segments: leftmost match of each, in order, between head and tail.
        # Leftmost is exact here because every segment has a fixed length, and it
        # makes each "*" but the last match as little as possible (RFC 5229 3.2).
        starts = [0]
        pos = head_len
        for seg in segs[1:-1]:
            m = seg.search(value, pos, tail_start)
            if m is None:
                return None
            starts.append(m.start())
            pos = m.end()
        starts.append(tail_start)
        return starts

    def fullmatch(self, value: str) -> bool:
        return self.starts(value) is not None

    def captures(self, value: str, starts: list[int]) -> list[str]:
        """The text each wildcard matched, in pattern order (RFC 5229 3.2)."""
        out: list[str] = []
        for k, start in enumerate(starts):
            if k > 0:
                out.append(value[starts[k - 1] + self.lengths[k - 1] : start])
            out.extend(value[start + q] for q in self.qmarks[k])
        return out


@dataclass(frozen=True, slots=True)
class Matcher:
    """Tests values against a key list with one comparator and one match type.

    Args:
        comparator: how characters compare and order.
        match_type: ``:is``, ``:contains``, ``:matches``, ``:value`` or ``:count``.
        keys: the key list as written in the script.
        relation: for ``:value``/``:count``, one of :data:`RELATIONS`.
    """

    comparator: Comparator
    match_type: MatchType
    keys: tuple[str, ...]
    relation: str = ""
    _folded: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _globs: tuple[_Glob, ...] = field(init=False, repr=False, compare=False)
    _ordered: tuple[Any, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        fold = self.comparator is Comparator.ASCII_CASEMAP
        folded = tuple(ascii_casefold(k) for k in self.keys) if fold else self.keys
        object.__setattr__(self, "_folded", folded)
        globs = (
            tuple(_Glob.compile(k) for k in folded) if self.match_type is MatchType.MATCHES else ()
        )
        object.__setattr__(self, "_globs", globs)
        key = _order_key(self.comparator)
        object.__setattr__(self, "_ordered", tuple(key(k) for k in self.keys))

    @property
    def counts(self) -> bool:
        """True for ``:count``: the test compares how many values there are."""
        return self.match_type is MatchType.COUNT

    def match(self, value: str) -> bool:
        """True when ``value`` matches any key."""
        mt = self.match_type
        if mt is MatchType.VALUE or mt is MatchType.COUNT:
            rel = RELATIONS[self.relation]
            v = _order_key(self.comparator)(value)
            return any(rel(v, k) for k in self._ordered)
        if self.comparator is Comparator.ASCII_NUMERIC:
            # RFC 4790 9.1: equality only (the compiler refuses substring matches).
            v = _numeric(value)
            return any(v == k for k in self._ordered)
        if self.comparator is Comparator.ASCII_CASEMAP:
            value = ascii_casefold(value)
        if mt is MatchType.IS:
            return value in self._folded
        if mt is MatchType.CONTAINS:
            return any(k in value for k in self._folded)
        return any(g.fullmatch(value) for g in self._globs)

    def resolve(self, variables: object) -> Matcher:
        """This matcher (its keys hold no variables)."""
        return self

    def match_captures(self, values: Iterable[str]) -> list[str] | None:
        """For ``:matches``: ``[value, wildcard texts...]`` of the first match, else None."""
        casemap = self.comparator is Comparator.ASCII_CASEMAP
        for value in values:
            folded = ascii_casefold(value) if casemap else value
            for glob in self._globs:
                starts = glob.starts(folded)
                if starts is not None:
                    # Folding keeps lengths, so positions index the original text.
                    return [value, *glob.captures(value, starts)]
        return None

    def match_any(self, values: Iterable[str]) -> bool:
        """True when any value matches any key (RFC 5228 2.7: a test over lists).

        For ``:count`` the number of values is what is compared (RFC 5231 4.2).
        """
        if self.match_type is MatchType.COUNT:
            return self.match(str(sum(1 for _ in values)))
        return any(self.match(v) for v in values)
