"""Message-IDs as THREAD=REFERENCES compares them (RFC 5256 section 5, RFC 5322 3.6.4).

RFC 5256 requires msg-ids to be normalised "to avoid false non-matches due to
differences in quoting": ``<"01KF8JCEOCBS0045PS"@xxx.yyy.com>`` and
``<01KF8JCEOCBS0045PS@xxx.yyy.com>`` are one id. The scanner here takes every
``<...>`` of a field, skipping comments and quoted strings between them, and
inside an id drops quoting, backslash escapes, comments and white space
(folding may split an id). Ids compare case-sensitively, as written.
"""

from __future__ import annotations

import re
from typing import Final

from mailsuite.message.params import comment_end

__all__ = ["message_ids"]

MAX_ID_CHARS: Final = 1000  # longer "ids" are junk; RFC 5322 lines are 998 octets
_WSP: Final = frozenset(" \t\r\n")
# Without quotes, comments or escapes an id is simply what lies between "<" and ">".
_NEEDS_SCANNER: Final = re.compile(r'["(\\]')
_SIMPLE_ID: Final = re.compile(r"<([^<>]*)>")
_WSP_RUN: Final = re.compile(r"[ \t\r\n]+")


def _skip_comment(value: str, i: int) -> int:
    """Index after the comment starting at ``value[i] == "("`` (the end when unterminated)."""
    end = comment_end(value, i)
    return len(value) if end is None else end


def _skip_quoted(value: str, i: int) -> int:
    """Index after the quoted string starting at ``value[i] == '"'``."""
    i += 1
    n = len(value)
    while i < n:
        c = value[i]
        if c == "\\":
            i += 2
            continue
        if c == '"':
            return i + 1
        i += 1
    return n


def _read_id(value: str, i: int) -> tuple[str | None, int]:
    """The normalised id after ``value[i] == "<"`` and the index after its ``>``."""
    out: list[str] = []
    i += 1
    n = len(value)
    quoted = False
    while i < n:
        c = value[i]
        if quoted:
            if c == "\\" and i + 1 < n:
                out.append(value[i + 1])
                i += 2
                continue
            if c == '"':
                quoted = False
            elif c not in "\r\n":
                out.append(c)
            i += 1
            continue
        if c == ">":
            text = "".join(out)
            return (text if 0 < len(text) <= MAX_ID_CHARS else None), i + 1
        if c == "<":
            return None, i  # an unclosed id: start again at the new "<"
        if c == '"':
            quoted = True
        elif c == "(":
            i = _skip_comment(value, i)
            continue
        elif c not in _WSP:
            out.append(c)
        i += 1
    return None, n


def message_ids(value: str | None, *, loose: bool = False) -> list[str]:
    """Every valid msg-id of a Message-ID, In-Reply-To or References value, normalised.

    Args:
        value: the raw field value (None when the field is missing).
        loose: also accept a bare ``local@domain`` without angle brackets
            when the field holds no ``<...>`` (broken mailers write
            Message-ID fields like that).

    Returns:
        The ids without their angle brackets, in field order.
    """
    if not value:
        return []
    ids: list[str] = []
    if _NEEDS_SCANNER.search(value) is None:
        # The common case, done by the regex engine: same result as the scanner below.
        for found in _SIMPLE_ID.findall(value):
            if " " in found or "\t" in found or "\n" in found or "\r" in found:
                found = _WSP_RUN.sub("", found)
            if 0 < len(found) <= MAX_ID_CHARS:
                ids.append(found)
        return ids or _loose(value, loose)
    i = 0
    n = len(value)
    while i < n:
        c = value[i]
        if c == "<":
            found, i = _read_id(value, i)
            if found is not None:
                ids.append(found)
        elif c == "(":
            i = _skip_comment(value, i)
        elif c == '"':
            # A quoted phrase between ids (old In-Reply-To style): not an id.
            i = _skip_quoted(value, i)
        else:
            i += 1
    return ids or _loose(value, loose)


def _loose(value: str, loose: bool) -> list[str]:
    """A bare ``local@domain`` Message-ID (no angle brackets), when allowed."""
    if not loose:
        return []
    bare = value.strip()
    if "@" in bare and not any(ch in _WSP or ch in '<>()"' for ch in bare):
        return [bare[:MAX_ID_CHARS]]
    return []
