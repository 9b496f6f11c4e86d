"""POP3 UIDL values in Dovecot's ``pop3_uidl_format`` syntax.

A UIDL must name a message for its whole life (RFC 1939 section 7), so it is
derived only from what the store keeps stable: the UID, the UIDVALIDITY and
the Maildir base file name. Dovecot's default ``%08Xu%08Xv`` is ours too, so a
mailbox migrated between the two servers shows clients the same UIDLs and
nothing is downloaded twice.

Syntax (the subset of Dovecot's variable expansion that UIDL formats use):
``%%`` is a percent sign; ``%[0][width][modifiers]var`` or
``%[0][width][modifiers]{long-name}`` expands a variable, where var is ``u``
(``{uid}``), ``v`` (``{uidvalidity}``), ``f`` (``{filename}``) or ``g``
(``{guid}``, the base file name for Maildir); modifiers are ``X`` (lower-case
hexadecimal, as Dovecot prints it), ``L`` and ``U`` (case). A width with a
leading zero pads with zeros; a width without one truncates, as in Dovecot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

__all__ = ["DEFAULT_UIDL_FORMAT", "UidlFormat", "compile_uidl_format"]

DEFAULT_UIDL_FORMAT: Final = "%08Xu%08Xv"

_SHORT: Final = {"u": "uid", "v": "uidvalidity", "f": "filename", "g": "guid"}
_LONG: Final = frozenset(_SHORT.values())
_TOKEN: Final = re.compile(r"%(?:(%)|(0?)(\d*)([XLU]*)(?:([a-zA-Z])|\{([a-z0-9_]+)\}))")
# RFC 1939 section 7: 1 to 70 characters in the range 0x21 to 0x7E.
_MAX_UIDL_CHARS: Final = 70


@dataclass(frozen=True, slots=True)
class _Part:
    literal: str = ""
    var: str = ""
    zero_pad: bool = False
    width: int = 0
    modifiers: str = ""


@dataclass(frozen=True, slots=True)
class UidlFormat:
    """A compiled UIDL format; :meth:`render` makes one message's UIDL."""

    source: str
    parts: tuple[_Part, ...]

    def render(self, uid: int, uidvalidity: int, filename: str = "") -> str:
        """The UIDL of one message, always 1 to 70 printable ASCII characters.

        Args:
            uid: the message's UID.
            uidvalidity: the mailbox's UIDVALIDITY.
            filename: the Maildir base name (without ``:2,flags``).
        """
        values = {
            "uid": str(uid),
            "uidvalidity": str(uidvalidity),
            "filename": filename,
            "guid": filename,
        }
        out = []
        for part in self.parts:
            if not part.var:
                out.append(part.literal)
                continue
            value = values[part.var]
            for m in part.modifiers:
                if m == "X":
                    value = format(int(value), "x") if value.isdigit() else value
                elif m == "L":
                    value = value.lower()
                elif m == "U":
                    value = value.upper()
            if part.width:
                value = value.rjust(part.width, "0") if part.zero_pad else value[: part.width]
            out.append(value)
        uidl = "".join(out)
        # A file name may hold characters RFC 1939 does not allow in a UIDL:
        # replace them rather than send a reply a client cannot parse.
        uidl = "".join(c if "!" <= c <= "~" else "_" for c in uidl)
        if not uidl or len(uidl) > _MAX_UIDL_CHARS:
            # Never happens with the UID/UIDVALIDITY formats; a long file name
            # is cut, keeping the end (Maildir names are unique there: host).
            uidl = (uidl or f"{uid:08x}{uidvalidity:08x}")[-_MAX_UIDL_CHARS:]
        return uidl


def compile_uidl_format(source: str) -> UidlFormat:
    """Check and compile a ``pop3_uidl_format`` string.

    Raises:
        ValueError: the format uses an unknown variable or modifier, or uses
            neither the UID nor the file name (it would not be unique).
    """
    parts: list[_Part] = []
    pos = 0
    used: set[str] = set()
    for m in _TOKEN.finditer(source):
        if m.start() > pos:
            parts.append(_literal(source, pos, m.start()))
        pos = m.end()
        if m.group(1):
            parts.append(_Part(literal="%"))
            continue
        name = m.group(6) if m.group(6) else _SHORT.get(m.group(5) or "", "")
        if name not in _LONG:
            shown = m.group(6) or m.group(5)
            raise ValueError(
                f"unknown variable {shown!r} at {m.start()} "
                "(known: %u uid, %v uidvalidity, %f filename, %g guid)"
            )
        used.add(name)
        parts.append(
            _Part(
                var=name,
                zero_pad=m.group(2) == "0",
                width=int(m.group(3) or 0),
                modifiers=m.group(4),
            )
        )
    if pos < len(source):
        parts.append(_literal(source, pos, len(source)))
    if not used & {"uid", "filename", "guid"}:
        raise ValueError("the format must contain %u, %f or %g, or UIDLs would not be unique")
    return UidlFormat(source, tuple(parts))


def _literal(source: str, start: int, end: int) -> _Part:
    text = source[start:end]
    if "%" in text:
        raise ValueError(f"incomplete variable at {start + text.index('%')}")
    return _Part(literal=text)
