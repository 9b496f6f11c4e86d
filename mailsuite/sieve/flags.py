"""IMAP flags as RFC 5232 (imap4flags) handles them.

A "list of flags" is a string list whose strings may each hold several flags
separated by spaces. Flags compare case-insensitively (IMAP flags are
case-insensitive, RFC 3501 2.3.2); system flags are written in their
canonical spelling; flags that IMAP could not store are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

__all__ = ["SYSTEM_FLAGS", "add_flags", "parse_flags", "remove_flags"]

# RFC 3501 2.3.2; "\Recent" is set by the server only, so a script cannot set it.
SYSTEM_FLAGS: Final = {
    f.lower(): f for f in ("\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft")
}
# RFC 3501 9: flag-keyword = atom; atom-specials are ( ) { SP CTL % * " \ ]
_KEYWORD: Final = re.compile(r'[^(){ \x00-\x1f\x7f%*"\\\]]+')


def _canonical(flag: str) -> str | None:
    if flag.startswith("\\"):
        return SYSTEM_FLAGS.get(flag.lower())
    if flag.isascii() and _KEYWORD.fullmatch(flag):
        return flag
    return None


def parse_flags(strings: Iterable[str]) -> tuple[str, ...]:
    """Split a list of flags into single flags, canonical, without duplicates.

    Example: ``["\\\\seen Junk", "junk"]`` -> ``("\\\\Seen", "Junk")``.
    """
    out: list[str] = []
    seen: set[str] = set()
    for s in strings:
        for word in s.split():
            flag = _canonical(word)
            if flag is not None and flag.lower() not in seen:
                seen.add(flag.lower())
                out.append(flag)
    return tuple(out)


def add_flags(current: tuple[str, ...], new: Iterable[str]) -> tuple[str, ...]:
    """``current`` plus ``new`` (RFC 5232 3.2: addflag), first spelling kept."""
    return parse_flags((*current, *new))


def remove_flags(current: tuple[str, ...], gone: Iterable[str]) -> tuple[str, ...]:
    """``current`` without ``gone``, compared case-insensitively (RFC 5232 3.3)."""
    drop = {f.lower() for f in parse_flags(gone)}
    return tuple(f for f in current if f.lower() not in drop)
