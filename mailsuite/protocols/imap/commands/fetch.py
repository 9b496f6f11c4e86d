"""FETCH and UID FETCH: data items, sections, partials and modifiers.

RFC 3501 6.4.5 and section 9 (``fetch-att``, ``section``), RFC 3516 (BINARY),
RFC 7162 3.1.4/3.2.6 (MODSEQ, CHANGEDSINCE, VANISHED).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar, Final

from ..wire.encode import encode_astring
from ..wire.reader import MODSEQ_MAX, ParseError, Reader
from ..wire.seqset import SequenceSet
from .base import SELECTED_ONLY, Command, State

__all__ = ["Fetch", "FetchAttr", "Section", "parse_fetch_atts"]

SIMPLE_ATTS: Final = frozenset(
    {
        "ENVELOPE",
        "FLAGS",
        "INTERNALDATE",
        "RFC822",
        "RFC822.HEADER",
        "RFC822.SIZE",
        "RFC822.TEXT",
        "BODY",
        "BODYSTRUCTURE",
        "UID",
        "MODSEQ",
    }
)
MACROS: Final = {
    "ALL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"),
    "FAST": ("FLAGS", "INTERNALDATE", "RFC822.SIZE"),
    "FULL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"),
}
SECTION_TEXTS: Final = ("HEADER.FIELDS.NOT", "HEADER.FIELDS", "HEADER", "TEXT", "MIME")
FETCH_MAX_ATTS: Final = 128
_ATT_NAME: Final = re.compile(rb"[A-Za-z0-9.]+")
_PART: Final = re.compile(rb"[1-9]\d{0,8}(?:\.[1-9]\d{0,8})*")
_PARTIAL: Final = re.compile(rb"<(\d{1,10})\.(\d{1,10})>")


@dataclass(frozen=True, slots=True)
class Section:
    """A body section (RFC 3501 6.4.5): part numbers and an optional text specifier.

    ``text`` is None (the whole part), "HEADER", "HEADER.FIELDS",
    "HEADER.FIELDS.NOT", "TEXT" or "MIME"; ``fields`` are the header names
    as the client wrote them (echoed back unchanged in the response).
    """

    part: tuple[int, ...] = ()
    text: str | None = None
    fields: tuple[str, ...] = ()

    def to_bytes(self) -> bytes:
        """The section spec as it appears between the brackets."""
        out = ".".join(str(p) for p in self.part)
        if self.text:
            out = f"{out}.{self.text}" if out else self.text
        raw = out.encode("ascii")
        if self.fields:
            raw += b" (" + b" ".join(encode_astring(f) for f in self.fields) + b")"
        return raw


@dataclass(frozen=True, slots=True)
class FetchAttr:
    """One fetch data item.

    ``name`` is the item without section or ``.PEEK``: "FLAGS", "BODY" (with
    ``section`` set for ``BODY[...]``), "BINARY", "BINARY.SIZE"... ``partial``
    is ``(origin, length)``.
    """

    name: str
    section: Section | None = None
    partial: tuple[int, int] | None = None
    peek: bool = False

    @property
    def sets_seen(self) -> bool:
        """Fetching it sets \\Seen (RFC 3501 6.4.5: BODY[], RFC822, RFC822.TEXT; RFC 3516)."""
        if self.name in ("RFC822", "RFC822.TEXT"):
            return True
        return self.section is not None and not self.peek and self.name in ("BODY", "BINARY")

    @property
    def needs_message(self) -> bool:
        """The item needs the message file (or its cached structure), not just the index."""
        return self.name not in ("FLAGS", "UID", "MODSEQ", "INTERNALDATE", "RFC822.SIZE")

    def response_name(self) -> bytes:
        """The item's name in the FETCH response (RFC 3501 7.4.2: no .PEEK, origin only)."""
        if self.section is None:
            return self.name.encode("ascii")
        out = self.name.encode("ascii") + b"[" + self.section.to_bytes() + b"]"
        if self.partial is not None:
            out += b"<%d>" % self.partial[0]
        return out


@dataclass(frozen=True, slots=True)
class Fetch(Command):
    """FETCH set items [(CHANGEDSINCE n [VANISHED])].

    ``attrs`` already holds UID for UID FETCH (RFC 3501 6.4.8) and MODSEQ
    when CHANGEDSINCE was given (RFC 7162 3.1.4.1), so the session renders
    exactly ``attrs``.
    """

    name: ClassVar[bytes] = b"FETCH"
    allowed: ClassVar[frozenset[State]] = SELECTED_ONLY

    sequence: SequenceSet = SequenceSet()
    attrs: tuple[FetchAttr, ...] = ()
    uid: bool = False
    changed_since: int | None = None
    vanished: bool = False

    @classmethod
    def parse(cls, tag: bytes, r: Reader, *, uid: bool = False) -> Fetch:
        r.sp()
        sequence = r.seq_set()
        r.sp()
        attrs = list(parse_fetch_atts(r))
        changed_since: int | None = None
        vanished = False
        if r.try_sp():
            r.open_paren()
            while True:
                mod = r.keyword("a FETCH modifier")
                if mod == "CHANGEDSINCE":
                    r.sp()
                    changed_since = r.number(maximum=MODSEQ_MAX, what="a mod-sequence")
                elif mod == "VANISHED":
                    vanished = True
                else:
                    raise ParseError(f"Unknown FETCH modifier {mod}")
                if r.close_paren():
                    break
                r.sp()
        # RFC 7162 3.2.6: VANISHED only in UID FETCH, and only with CHANGEDSINCE.
        if vanished and not uid:
            raise ParseError("VANISHED is only allowed in UID FETCH")
        if vanished and changed_since is None:
            raise ParseError("VANISHED requires CHANGEDSINCE")
        names = {a.name for a in attrs}
        if changed_since is not None and "MODSEQ" not in names:
            attrs.append(FetchAttr("MODSEQ"))
        if uid and "UID" not in names:
            attrs.insert(0, FetchAttr("UID"))
        return cls(tag, sequence, tuple(attrs), uid, changed_since, vanished)


def parse_fetch_atts(r: Reader) -> tuple[FetchAttr, ...]:
    """A macro, one item, or a parenthesised list of items (RFC 3501 ``fetch``)."""
    if r.peek() != b"(":
        start = r.pos
        name = r.match(_ATT_NAME)
        if name is not None and name.upper().decode("ascii") in MACROS:
            following = r.peek()
            if following in (b"", b" "):
                return tuple(FetchAttr(n) for n in MACROS[name.upper().decode("ascii")])
        r.pos = start
        return (_fetch_att(r),)
    r.open_paren()
    attrs: list[FetchAttr] = []
    while True:
        attrs.append(_fetch_att(r))
        if len(attrs) > FETCH_MAX_ATTS:
            raise ParseError(f"More than {FETCH_MAX_ATTS} FETCH items")
        if r.close_paren():
            break
        r.sp()
    return tuple(dict.fromkeys(attrs))


def _fetch_att(r: Reader) -> FetchAttr:
    raw = r.match(_ATT_NAME)
    if raw is None:
        raise ParseError(f"Expected a FETCH item at {r.where()}")
    name = raw.decode("ascii").upper()
    if r.peek() != b"[":
        if name in SIMPLE_ATTS:
            return FetchAttr(name)
        if name in MACROS:
            raise ParseError(f"{name} is a macro and cannot be combined with other items")
        raise ParseError(f"Unknown FETCH item {name}")
    peek = name.endswith(".PEEK")
    base = name[:-5] if peek else name
    if base == "BODY":
        section = _section(r)
    elif base in ("BINARY", "BINARY.SIZE") and not (peek and base == "BINARY.SIZE"):
        section = _binary_section(r)
    else:
        raise ParseError(f"Unknown FETCH item {name}[")
    partial: tuple[int, int] | None = None
    if r.peek() == b"<":
        if base == "BINARY.SIZE":
            raise ParseError("BINARY.SIZE takes no partial")
        m = _PARTIAL.match(r.data, r.pos)
        if m is None:
            raise ParseError("Invalid partial: expected <origin.length>")
        length = int(m.group(2))
        if length == 0:
            raise ParseError("Partial length must not be 0")
        partial = (int(m.group(1)), length)
        r.pos = m.end()
    return FetchAttr(base, section, partial, peek)


def _section(r: Reader) -> Section:
    """``section = "[" [section-spec] "]"``."""
    r.expect(b"[")
    if r.take(b"]"):
        return Section()
    part: tuple[int, ...] = ()
    m = _PART.match(r.data, r.pos)
    if m is not None:
        part = tuple(int(p) for p in m.group(0).split(b"."))
        r.pos = m.end()
        if r.take(b"]"):
            return Section(part)
        r.expect(b".", "'.' or ']' after the part number")
    text = None
    for candidate in SECTION_TEXTS:
        if r.take(candidate.encode("ascii")):
            text = candidate
            break
    if text is None:
        raise ParseError(f"Invalid section specifier at {r.where()}")
    if text == "MIME" and not part:
        raise ParseError("MIME needs a part number (e.g. BODY[1.MIME])")
    fields: tuple[str, ...] = ()
    if text.startswith("HEADER.FIELDS"):
        r.sp()
        r.open_paren()
        names: list[str] = []
        while True:
            names.append(r.astring("a header field name").decode("ascii", "replace"))
            if r.close_paren():
                break
            r.sp()
        fields = tuple(names)
    r.expect(b"]", "']' to end the section")
    return Section(part, text, fields)


def _binary_section(r: Reader) -> Section:
    """``section-binary = "[" [section-part] "]"`` (RFC 3516 4.2)."""
    r.expect(b"[")
    m = _PART.match(r.data, r.pos)
    part: tuple[int, ...] = ()
    if m is not None:
        part = tuple(int(p) for p in m.group(0).split(b"."))
        r.pos = m.end()
    r.expect(b"]", "']' (BINARY sections hold part numbers only)")
    return Section(part)
