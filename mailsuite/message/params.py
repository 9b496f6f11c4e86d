"""MIME structured header fields: Content-Type, Content-Disposition, parameters.

RFC 2045 section 5.1 grammar with RFC 822 comments and quoted strings,
tolerant the way real mail needs (unquoted 8-bit values, stray separators).
RFC 2231 continuations (``name*0=..; name*1=..``) are merged the way Dovecot
merges them for BODYSTRUCTURE: into one ``name`` (plain pieces only) or one
``name*`` whose value keeps the ``charset'lang'%XX`` encoding (a plain piece
inside an extended value has its ``%`` escaped; a value whose first piece is
plain gets an empty ``''`` charset/language prefix).
"""

from __future__ import annotations

import re

__all__ = [
    "comment_end",
    "parse_content_type",
    "parse_disposition",
    "parse_language",
    "parse_params",
    "parse_token",
]

# RFC 2045 section 5.1 tspecials plus white space and controls end a token.
_TOKEN = re.compile(r'[^\s()<>@,;:\\"/\[\]?=\x00-\x1f\x7f]+')
_WS = re.compile(r"[ \t\r\n]*")
_SECTION = re.compile(r"^([^*]+)\*(?:(\d{1,3})(\*?)|)$")

Pairs = list[tuple[str, str]]


def comment_end(value: str, i: int) -> int | None:
    """Index just after the comment that starts at ``value[i] == "("``; None if unterminated.

    RFC 5322 section 3.2.2 (RFC 822 3.4.3): comments nest and may hold quoted pairs.
    """
    depth = 0
    n = len(value)
    while i < n:
        c = value[i]
        if c == "\\":
            i += 2
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return None


class _Scanner:
    __slots__ = ("s", "i", "broken")

    def __init__(self, s: str) -> None:
        self.s = s
        self.i = 0
        self.broken = False  # an unterminated comment was seen

    def skip_cfws(self) -> None:
        s = self.s
        n = len(s)
        while self.i < n:
            self.i = _WS.match(s, self.i).end()  # type: ignore[union-attr]
            if self.i < n and s[self.i] == "(":
                self._comment()
            else:
                return

    def _comment(self) -> None:
        end = comment_end(self.s, self.i)
        if end is None:
            self.broken = True
            end = len(self.s)
        self.i = end

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def token(self) -> str | None:
        m = _TOKEN.match(self.s, self.i)
        if m is None:
            return None
        self.i = m.end()
        return m.group(0)

    def quoted(self) -> str | None:
        # RFC 822 quoted-string; an unterminated one is invalid (None), as in Dovecot.
        s = self.s
        self.i += 1
        out = []
        while self.i < len(s):
            c = s[self.i]
            if c == "\\" and self.i + 1 < len(s):
                out.append(s[self.i + 1])
                self.i += 2
                continue
            self.i += 1
            if c == '"':
                return "".join(out)
            if c not in "\r\n":
                out.append(c)
        return None

    def value(self) -> str | None:
        if self.peek() == '"':
            return self.quoted()
        m = re.compile(r'[^;\s"()]+').match(self.s, self.i)
        if m is None:
            return None
        self.i = m.end()
        return m.group(0)

    def skip_past(self, ch: str) -> None:
        j = self.s.find(ch, self.i)
        self.i = len(self.s) if j < 0 else j


def parse_token(value: str) -> str | None:
    """The first token of a field (Content-Transfer-Encoding), comments skipped."""
    sc = _Scanner(value)
    sc.skip_cfws()
    return sc.token()


def parse_content_type(value: str) -> tuple[str, str, Pairs] | None:
    """Parse ``type/subtype; params``.

    Returns:
        ``(type, subtype, params)`` with case as written, or None when there
        is no valid ``type/subtype`` (the caller then uses the default type).
    """
    sc = _Scanner(value)
    sc.skip_cfws()
    mtype = sc.token()
    sc.skip_cfws()
    if mtype is None or sc.peek() != "/":
        # RFC 2045 section 5.2: a syntactically invalid field means the default,
        # text/plain; charset=us-ascii (Dovecot 2.3 sends "" "" instead).
        return None
    sc.i += 1
    sc.skip_cfws()
    subtype = sc.token()
    if subtype is None or not _clean_end(sc):
        return None
    return mtype, subtype, _params(sc)


def _clean_end(sc: _Scanner) -> bool:
    # Dovecot's rule: after the value only parameters may follow, so junk
    # ("text/pla in", "multipart/mi:xed", an open comment) makes it invalid.
    sc.skip_cfws()
    return not sc.broken and (sc.i >= len(sc.s) or sc.s[sc.i] == ";")


def parse_disposition(value: str) -> tuple[str, Pairs] | None:
    """Parse ``disposition-type; params`` (RFC 2183), or None when there is no type."""
    sc = _Scanner(value)
    sc.skip_cfws()
    dtype = sc.token()
    if dtype is None or not _clean_end(sc):
        return None
    return dtype, _params(sc)


def parse_params(value: str) -> Pairs:
    """Parse a bare ``; name=value ...`` list (merged as for BODYSTRUCTURE)."""
    return _params(_Scanner(value))


def parse_language(value: str) -> tuple[str, ...]:
    """Content-Language (RFC 3282): comma-separated tags, comments skipped."""
    sc = _Scanner(value)
    out = []
    while True:
        sc.skip_cfws()
        if sc.i >= len(sc.s):
            break
        tok = sc.token()
        if tok is not None:
            out.append(tok)
        else:
            sc.i += 1  # a stray separator or comma
    return tuple(out)


def _params(sc: _Scanner) -> Pairs:
    raw: Pairs = []
    while True:
        sc.skip_cfws()
        if sc.i >= len(sc.s):
            break
        if sc.peek() != ";":
            sc.skip_past(";")  # junk after a value: skip to the next parameter
            continue
        sc.i += 1
        sc.skip_cfws()
        key = sc.token()
        if key is None:
            continue
        sc.skip_cfws()
        if sc.peek() != "=":
            continue
        sc.i += 1
        sc.skip_cfws()
        if sc.peek() == '"':
            val = sc.quoted()
            if val is None:
                continue  # unterminated quoted string: the parameter is dropped
        else:
            val = sc.value() or ""
        raw.append((key, val))
    return _merge_2231(raw)


def _merge_2231(raw: Pairs) -> Pairs:
    if not any("*" in k for k, _ in raw):
        return raw
    plain: Pairs = []
    groups: dict[str, list[tuple[int, bool, str, str]]] = {}
    for key, val in raw:
        m = _SECTION.match(key) if "*" in key else None
        if m is None:
            plain.append((key, val))
            continue
        base, idx, star = m.group(1), m.group(2), m.group(3)
        if idx is None:
            piece = (0, True, base, val)  # "name*=charset'lang'value"
        else:
            piece = (int(idx), star == "*", base, val)
        groups.setdefault(base.lower(), []).append(piece)
    merged: Pairs = []
    for lkey in sorted(groups):
        pieces = sorted(groups[lkey], key=lambda p: p[0])
        name = pieces[0][2]
        if any(ext for _, ext, _, _ in pieces):
            value = "" if pieces[0][1] else "''"
            for _, ext, _, v in pieces:
                value += v if ext else v.replace("%", "%25")
            merged.append((name + "*", value))
        else:
            merged.append((name, "".join(v for _, _, _, v in pieces)))
    return plain + merged
