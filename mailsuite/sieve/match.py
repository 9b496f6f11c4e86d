"""Comparators and match types (RFC 5228 sections 2.7.1 to 2.7.3, RFC 4790).

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
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

__all__ = [
    "COMPARATORS",
    "Comparator",
    "MatchType",
    "Matcher",
    "ascii_casefold",
]


class Comparator(enum.Enum):
    OCTET = "i;octet"
    ASCII_CASEMAP = "i;ascii-casemap"


# RFC 5228 2.7.3: these two are always available (require is allowed, not needed).
COMPARATORS: Final = {c.value: c for c in Comparator}


class MatchType(enum.Enum):
    IS = "is"
    CONTAINS = "contains"
    MATCHES = "matches"


# RFC 4790 9.2: i;ascii-casemap folds only the 26 ASCII letters, never others.
_ASCII_FOLD: Final = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


def ascii_casefold(value: str) -> str:
    """Lower-case ASCII letters only (i;ascii-casemap), leaving every other character alone."""
    return value.translate(_ASCII_FOLD)


@dataclass(frozen=True, slots=True)
class _Glob:
    """A ``:matches`` pattern cut at its ``*`` wildcards into fixed-length segments."""

    segments: tuple[re.Pattern[str], ...]
    lengths: tuple[int, ...]
    starred: bool  # at least one "*": the segments are separated by "anything"

    @classmethod
    def compile(cls, pattern: str) -> _Glob:
        # RFC 5228 2.7.1: "*" matches zero or more characters, "?" exactly one,
        # and a backslash makes the next character literal ("\\*" in the script
        # source is "\*" in the string value, a literal star).
        segments: list[list[str]] = [[]]
        lengths = [0]
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
            elif c == "?":
                segments[-1].append(".")
                lengths[-1] += 1
            else:
                segments[-1].append(re.escape(c))
                lengths[-1] += 1
            i += 1
        compiled = tuple(re.compile("".join(s), re.DOTALL) for s in segments)
        return cls(compiled, tuple(lengths), len(segments) > 1)

    def fullmatch(self, value: str) -> bool:
        segs = self.segments
        if not self.starred:
            return segs[0].fullmatch(value) is not None
        first, last = segs[0], segs[-1]
        head_len, tail_len = self.lengths[0], self.lengths[-1]
        n = len(value)
        if head_len + tail_len > n:
            return False
        if first.match(value) is None:
            return False
        tail_start = n - tail_len
        if last.fullmatch(value, tail_start) is None:
            return False
        # Middle segments: leftmost match of each, in order, between head and tail.
        # Greedy-leftmost is exact here because every segment has a fixed length.
        pos = head_len
        for seg in segs[1:-1]:
            m = seg.search(value, pos, tail_start)
            if m is None:
                return False
            pos = m.end()
        return True


@dataclass(frozen=True, slots=True)
class Matcher:
    """Tests values against a key list with one comparator and one match type.

    Args:
        comparator: how characters compare.
        match_type: ``:is``, ``:contains`` or ``:matches``.
        keys: the key list as written in the script.
    """

    comparator: Comparator
    match_type: MatchType
    keys: tuple[str, ...]
    _folded: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _globs: tuple[_Glob, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        fold = self.comparator is Comparator.ASCII_CASEMAP
        folded = tuple(ascii_casefold(k) for k in self.keys) if fold else self.keys
        object.__setattr__(self, "_folded", folded)
        globs = (
            tuple(_Glob.compile(k) for k in folded) if self.match_type is MatchType.MATCHES else ()
        )
        object.__setattr__(self, "_globs", globs)

    def match(self, value: str) -> bool:
        """True when ``value`` matches any key."""
        if self.comparator is Comparator.ASCII_CASEMAP:
            value = ascii_casefold(value)
        if self.match_type is MatchType.IS:
            return value in self._folded
        if self.match_type is MatchType.CONTAINS:
            return any(k in value for k in self._folded)
        return any(g.fullmatch(value) for g in self._globs)

    def match_any(self, values: Iterable[str]) -> bool:
        """True when any value matches any key (RFC 5228 2.7: a test over lists)."""
        return any(self.match(v) for v in values)
