"""RFC 5322 address lists for ENVELOPE (RFC 3501 section 7.4.2).

A forgiving parser: groups, source routes (``<@a,@b:x@y>``), comments,
quoted strings and obsolete syntax are understood, and anything else still
yields addresses. As Dovecot does, a missing local part or domain is filled
with ``MISSING_MAILBOX``/``MISSING_DOMAIN`` (clients choke on NIL there) and a
comment stands in for a missing display name (``john@x (John Doe)``).
"""

from __future__ import annotations

import re

from mailsuite.message.headers import for_humans
from mailsuite.message.model import Address

__all__ = ["MISSING_DOMAIN", "MISSING_MAILBOX", "parse_address_list"]

MISSING_MAILBOX = "MISSING_MAILBOX"
MISSING_DOMAIN = "MISSING_DOMAIN"

_SPECIALS = "<>,:;@."
_ATOM = re.compile(r'[^\s()<>\[\]:;@\\,."]+')
# Token kinds: "w" word (atom), "q" quoted string, "c" comment, "d" domain literal, or a special.
Token = tuple[str, str, bool]  # (kind, text, white space before)


def _tokenize(s: str) -> list[Token]:
    out: list[Token] = []
    i, n = 0, len(s)
    space = False
    while i < n:
        c = s[i]
        if c in " \t\r\n":
            space = True
            i += 1
            continue
        if c == "(":
            depth, j, buf = 0, i, []
            closed = False
            while j < n:
                ch = s[j]
                if ch == "\\" and j + 1 < n:
                    buf.append(s[j + 1])
                    j += 2
                    continue
                if ch == "(":
                    depth += 1
                    if depth > 1:
                        buf.append(ch)
                elif ch == ")":
                    depth -= 1
                    if depth == 0:
                        j += 1
                        closed = True
                        break
                    buf.append(ch)
                else:
                    buf.append(ch)
                j += 1
            if closed:  # an unterminated comment names nothing (as Dovecot)
                out.append(("c", "".join(buf), space))
            i = j
        elif c == '"':
            j, buf = i + 1, []
            while j < n and s[j] != '"':
                if s[j] == "\\" and j + 1 < n:
                    j += 1
                buf.append(s[j])
                j += 1
            out.append(("q", "".join(buf), space))
            i = j + 1
        elif c == "[":
            j = s.find("]", i)
            j = n if j < 0 else j + 1
            out.append(("d", s[i:j], space))
            i = j
        elif c in _SPECIALS:
            out.append((c, c, space))
            i += 1
        elif c == "\\":
            out.append(("w", s[i + 1 : i + 2], space))
            i += 2
        else:
            m = _ATOM.match(s, i)
            end = m.end() if m else i + 1
            out.append(("w", s[i:end], space))
            i = end
        space = False
    return out


def _phrase(tokens: list[Token]) -> str | None:
    words: list[str] = []
    for kind, text, space in tokens:
        if kind == "c":
            continue
        if words and (space or kind == "q"):
            words.append(" ")
        words.append(text)
    name = for_humans("".join(words))
    return name or None


def _addr_spec(tokens: list[Token]) -> tuple[str | None, str | None]:
    """Split ``local@domain`` tokens (comments ignored) into (mailbox, host)."""
    # Only words, quoted strings, dots and domain literals make an addr-spec;
    # stray specials ("<<", ">") are dropped rather than glued into it.
    toks = [t for t in tokens if t[0] in "wqd.@"]
    at = next((i for i, t in enumerate(toks) if t[0] == "@"), -1)
    local_toks = toks if at < 0 else toks[:at]
    local = "".join(t[1] if t[0] != "q" else _requote(t[1]) for t in local_toks)
    domain = None
    if at >= 0:
        parts: list[str] = []
        for kind, text, space in toks[at + 1 :]:
            # The domain ends at white space before a new word or at another "@"
            # ("a@b c@d" is a@b, as in Dovecot); dots may be spaced (obs-domain).
            if kind == "@" or (space and parts and kind != "." and parts[-1] != "."):
                break
            parts.append(text)
        domain = "".join(parts)
    return (local or None), (domain or None)


def _requote(text: str) -> str:
    # A quoted local part stays quoted so the address remains valid when rebuilt.
    if _ATOM.fullmatch(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _mailbox(tokens: list[Token]) -> Address | None:
    if not tokens:
        return None
    lt = next((i for i, t in enumerate(tokens) if t[0] == "<"), -1)
    if lt >= 0:
        gt = next((i for i in range(lt + 1, len(tokens)) if tokens[i][0] == ">"), len(tokens))
        name = _phrase(tokens[:lt])
        inner = tokens[lt + 1 : gt]
        adl = None
        colon = next((i for i, t in enumerate(inner) if t[0] == ":"), -1)
        if colon >= 0:  # RFC 5322 section 4.4 obs-route: "@a,@b:"
            adl = "".join(t[1] for t in inner[:colon] if t[0] != "c") or None
            inner = inner[colon + 1 :]
        local, domain = _addr_spec(inner)
        if name is None:
            name = _comment_name(tokens[gt + 1 :])
    else:
        local, domain = _addr_spec(tokens)
        adl = None
        name = _comment_name(tokens)
        if local is None and domain is None and not any(t[0] == "@" for t in tokens):
            return None  # only comments or stray specials: no address here
    return Address(name, adl, local or MISSING_MAILBOX, domain or MISSING_DOMAIN)


def _comment_name(tokens: list[Token]) -> str | None:
    # The last comment names the address (Dovecot does the same).
    for kind, text, _ in reversed(tokens):
        if kind == "c":
            name = for_humans(text)
            if name:
                return name
    return None


def parse_address_list(value: str | None) -> tuple[Address, ...] | None:
    """Parse an address header's raw value into ENVELOPE addresses.

    Args:
        value: the raw (not RFC 2047-decoded) header value, or None.

    Returns:
        The addresses with group markers, or None (NIL) when there are none.
    """
    if value is None:
        return None
    tokens = _tokenize(value)
    out: list[Address] = []
    cur: list[Token] = []
    in_group = False
    in_angle = False
    for tok in tokens:
        kind = tok[0]
        if kind == "<":
            in_angle = True
        elif kind == ">":
            in_angle = False
        if in_angle and kind in ",:;":
            # "," and ":" inside <...> belong to a source route (<@a,@b:x@y>)
            cur.append(tok)
            continue
        if kind == ":" and not in_angle and not in_group:
            # RFC 5322 section 3.4: group = display-name ":" [group-list] ";"
            out.append(Address(None, None, _phrase(cur) or "", None))
            in_group = True
            cur = []
        elif kind == "," and not in_angle:
            addr = _mailbox(cur)
            if addr is not None:
                out.append(addr)
            cur = []
        elif kind == ";" and not in_angle:
            addr = _mailbox(cur)
            if addr is not None:
                out.append(addr)
            cur = []
            if not in_group:
                break  # a stray ";" outside a group: stop here, as Dovecot does
            out.append(Address(None, None, None, None))
            in_group = False
        else:
            cur.append(tok)
    addr = _mailbox(cur)
    if addr is not None:
        out.append(addr)
    if in_group:
        out.append(Address(None, None, None, None))
    return tuple(out) or None
