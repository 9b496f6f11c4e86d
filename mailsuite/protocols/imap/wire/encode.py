"""Values to wire bytes: atoms, quoted strings, literals, mailbox names, flags, dates.

The choice follows RFC 3501 section 4: an atom only where the grammar takes
an atom or astring and the value is made of ATOM-CHARs; a quoted string for
short 7-bit text without CR, LF or NUL; a literal for everything else (8-bit
data, line ends, long values).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from typing import Final

from mailsuite.util.utf7 import encode_mutf7

from .reader import MONTHS

__all__ = [
    "encode_astring",
    "encode_flags",
    "encode_internaldate",
    "encode_literal",
    "encode_mailbox",
    "encode_nstring",
    "encode_quoted",
    "encode_string",
    "encode_text",
    "sort_flags",
]

_ASTRING_SAFE: Final = re.compile(rb"[^\x00-\x20\x7f-\xff(){%*\"\\]+\Z")
_QUOTABLE: Final = re.compile(rb"[\x01-\x09\x0b\x0c\x0e-\x7f]*\Z")
QUOTED_MAX_BYTES: Final = 1024  # longer values go as literals: easier on clients' line buffers
_SYSTEM_ORDER: Final = ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft", "\\Recent")


def _as_bytes(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def encode_quoted(value: str | bytes) -> bytes:
    """A quoted string, escaping ``"`` and ``\\``; the caller checks it is quotable."""
    raw = _as_bytes(value)
    return b'"' + raw.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def encode_literal(value: str | bytes) -> bytes:
    """A synchronizing-form literal ``{n}CRLF`` + octets (servers never wait for "+")."""
    raw = _as_bytes(value)
    return b"{%d}\r\n" % len(raw) + raw


def encode_string(value: str | bytes) -> bytes:
    """A ``string``: quoted when short 7-bit text without CR/LF/NUL, else a literal."""
    raw = _as_bytes(value)
    if len(raw) <= QUOTED_MAX_BYTES and _QUOTABLE.match(raw):
        return encode_quoted(raw)
    return encode_literal(raw)


def encode_nstring(value: str | bytes | None) -> bytes:
    """An ``nstring``: NIL for None, else a string."""
    return b"NIL" if value is None else encode_string(value)


def encode_astring(value: str | bytes) -> bytes:
    """An ``astring``: a bare atom when safe (never the word NIL), else a string."""
    raw = _as_bytes(value)
    if raw and raw.upper() != b"NIL" and _ASTRING_SAFE.match(raw):
        return raw
    return encode_string(raw)


def encode_mailbox(name: str) -> bytes:
    """A mailbox name: modified UTF-7 (RFC 3501 5.1.3), as an astring."""
    if name.upper() == "INBOX":
        return b"INBOX"
    return encode_astring(encode_mutf7(name).encode("ascii"))


def sort_flags(flags: Iterable[str]) -> list[str]:
    """System flags in RFC order first, then keywords alphabetically (stable output)."""
    flags = set(flags)
    system = [f for f in _SYSTEM_ORDER if f in flags]
    rest = sorted(f for f in flags if f not in _SYSTEM_ORDER)
    return system + rest


def encode_flags(flags: Iterable[str]) -> bytes:
    """A parenthesised flag list, e.g. ``(\\Seen $Forwarded)``."""
    return b"(" + " ".join(sort_flags(flags)).encode("ascii", "replace") + b")"


def encode_internaldate(timestamp: float, tz: datetime.tzinfo | None = None) -> bytes:
    """INTERNALDATE as ``"dd-Mon-yyyy hh:mm:ss +zzzz"`` (RFC 3501 ``date-time``).

    ``date-day-fixed`` pads the day with a space, not a zero.

    Args:
        timestamp: POSIX seconds.
        tz: the zone to show; UTC when None.
    """
    when = datetime.datetime.fromtimestamp(int(timestamp), tz or datetime.UTC)
    offset = when.utcoffset() or datetime.timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    zone = f"{sign}{minutes // 60:02d}{minutes % 60:02d}"
    text = (
        f'"{when.day:2d}-{MONTHS[when.month - 1]}-{when.year:04d} '
        f'{when.hour:02d}:{when.minute:02d}:{when.second:02d} {zone}"'
    )
    return text.encode("ascii")


def encode_text(text: str) -> bytes:
    """Human-readable ``text`` of a status response: one line, 7-bit, never empty.

    RFC 3501 ``text`` is 1*TEXT-CHAR: CR and LF would end the response early,
    and text starting with "[" would read as a response code.
    """
    if text.isascii() and text.isprintable():
        # The usual case (our own fixed texts): every character is already in " ".."~".
        clean = text.strip() or "Done"
    else:
        clean = "".join(c if " " <= c <= "~" else " " if c in "\r\n\t" else "?" for c in text)
        clean = clean.strip() or "Done"
    if clean.startswith("["):
        clean = " " + clean
    return clean.encode("ascii")
