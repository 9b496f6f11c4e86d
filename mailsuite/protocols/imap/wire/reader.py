"""A cursor over one framed command: the RFC 3501 section 9 grammar primitives.

Every method either consumes what it read and returns it, or raises
:class:`ParseError` with a message fit for the BAD text. Literals are inline
(``{n}CRLF`` then n octets, as the framer leaves them), so one pass suffices.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from mailsuite.limits import IMAP_MAX_PAREN_DEPTH
from mailsuite.util.utf7 import MUTF7Error, decode_mutf7

from .seqset import SequenceSet

if TYPE_CHECKING:
    from .framer import LiteralSink

__all__ = ["MONTHS", "SYSTEM_FLAGS", "ParseError", "Reader", "decode_mailbox"]

MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_NUM: Final = {m.upper().encode(): i + 1 for i, m in enumerate(MONTHS)}

# RFC 3501 section 9: ATOM-CHAR is any CHAR except atom-specials
# ( ) { SP CTL % * " \ ]; ASTRING-CHAR adds "]"; list-char adds % and *.
_ATOM: Final = re.compile(rb"[^\x00-\x20\x7f-\xff(){%*\"\\\]]+")
_ASTRING_ATOM: Final = re.compile(rb"[^\x00-\x20\x7f-\xff(){%*\"\\]+")
_LIST_ATOM: Final = re.compile(rb"[^\x00-\x20\x7f-\xff(){\"\\]+")
_TAG: Final = re.compile(rb"[^\x00-\x20\x7f-\xff(){%*\"\\+]+")
_NUMBER: Final = re.compile(rb"\d+")
_LITERAL: Final = re.compile(rb"(~?)\{(\d{1,20})(\+?)\}\r\n")
_SEQ_SET: Final = re.compile(rb"(?:\d+|\*)(?::(?:\d+|\*))?(?:,(?:\d+|\*)(?::(?:\d+|\*))?)*")
_DATE: Final = re.compile(rb"(\d{1,2})-([A-Za-z]{3})-(\d{4})")
_DATE_TIME: Final = re.compile(
    # date-day-fixed is " 7" or "07"; a bare "7" is tolerated, as several clients send it.
    rb'"( \d|\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)"'
)

NUMBER_MAX: Final = 2**32 - 1  # RFC 3501 number: 32-bit unsigned
MODSEQ_MAX: Final = 2**63 - 1  # RFC 7162 mod-sequence-value
SYSTEM_FLAGS: Final = {
    f.upper(): f for f in ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")
}


class ParseError(Exception):
    """The command does not follow the grammar; ``message`` says where and why.

    Args:
        message: the reason, written for the client (it becomes the BAD text).
        code: an optional response code (e.g. ``b"BADCHARSET (UTF-8 US-ASCII)"``).
        status: ``b"BAD"`` for syntax, ``b"NO"`` where the RFC asks for NO.
    """

    def __init__(self, message: str, code: bytes | None = None, status: bytes = b"BAD") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


class Reader:
    """Grammar primitives over ``data`` from ``pos``.

    Args:
        data: one framed command (literals inline, final CRLF removed).
        pos: where to start reading.
        spooled: the framer's spooled literals (``CommandBytes.spooled``): offset
            right after a literal header -> the sink holding its octets.
    """

    __slots__ = ("data", "pos", "depth", "spooled")

    def __init__(
        self, data: bytes, pos: int = 0, spooled: Mapping[int, LiteralSink] | None = None
    ) -> None:
        self.data = data
        self.pos = pos
        self.depth = 0
        self.spooled = spooled

    # -- basics --------------------------------------------------------------

    def at_end(self) -> bool:
        """True when nothing but (tolerated) trailing spaces remains."""
        data, i = self.data, self.pos
        while i < len(data) and data[i] == 0x20:  # no copy: called after every search key
            i += 1
        return i >= len(data)

    def end(self) -> None:
        """Require the end of the command.

        Raises:
            ParseError: arguments are left over.
        """
        if not self.at_end():
            rest = self.data[self.pos : self.pos + 20]
            raise ParseError(f"Unexpected extra arguments: {_show(rest)}")

    def peek(self, n: int = 1) -> bytes:
        """The next ``n`` bytes without consuming them."""
        return self.data[self.pos : self.pos + n]

    def take(self, token: bytes) -> bool:
        """Consume ``token`` (case-insensitively) when it comes next."""
        n = len(token)
        # Exact bytes first (spaces, parentheses, upper-case names); then any case.
        if self.data.startswith(token, self.pos) or (
            self.data[self.pos : self.pos + n].upper() == token.upper()
        ):
            self.pos += n
            return True
        return False

    def expect(self, token: bytes, what: str | None = None) -> None:
        """Consume ``token`` or fail naming it."""
        if not self.take(token):
            name = what or f"'{token.decode('ascii', 'replace')}'"
            raise ParseError(f"Expected {name} at {self.where()}")

    def sp(self) -> None:
        """Consume the single space between arguments."""
        if not self.take(b" "):
            if self.pos >= len(self.data):
                raise ParseError("Missing ')'" if self.depth > 0 else "Missing arguments")
            raise ParseError(f"Expected a space at {self.where()}")

    def try_sp(self) -> bool:
        """Consume a space when one follows and more than spaces comes after it."""
        if self.peek() == b" " and not self.at_end():
            self.pos += 1
            return True
        return False

    def where(self) -> str:
        """A short, printable view of what comes next, for error messages."""
        rest = self.data[self.pos : self.pos + 20]
        return f"{_show(rest)}" if rest else "end of line"

    def match(self, pattern: re.Pattern[bytes]) -> bytes | None:
        """Consume and return what ``pattern`` matches here, or None (nothing consumed)."""
        m = pattern.match(self.data, self.pos)
        if m is None:
            return None
        self.pos = m.end()
        return m.group(0)

    # -- atoms and numbers ---------------------------------------------------

    def tag(self) -> bytes:
        """The command tag (RFC 3501 ``tag``: ASTRING-CHAR except "+")."""
        tag = self.match(_TAG)
        if tag is None:
            raise ParseError("Invalid tag")
        return tag

    def atom(self, what: str = "an atom") -> bytes:
        """An ``atom``."""
        atom = self.match(_ATOM)
        if atom is None:
            raise ParseError(f"Expected {what} at {self.where()}")
        return atom

    def keyword(self, what: str = "a keyword") -> str:
        """An atom, upper-cased, as ASCII ``str`` (command names, item names)."""
        return self.atom(what).decode("ascii").upper()

    def number(self, *, maximum: int = NUMBER_MAX, what: str = "a number") -> int:
        """A ``number`` (or a wider one when ``maximum`` allows, as for mod-sequences)."""
        digits = self.match(_NUMBER)
        if digits is None:
            raise ParseError(f"Expected {what} at {self.where()}")
        if len(digits) > 20 or int(digits) > maximum:
            raise ParseError(f"{what[0].upper()}{what[1:]} is too large: {_show(digits)}")
        return int(digits)

    def nz_number(self, *, maximum: int = NUMBER_MAX, what: str = "a non-zero number") -> int:
        """An ``nz-number``."""
        value = self.number(maximum=maximum, what=what)
        if value == 0:
            raise ParseError(f"Expected {what}, got 0")
        return value

    # -- strings -------------------------------------------------------------

    def quoted(self) -> bytes:
        """A ``quoted`` string, unescaped.

        8-bit octets are tolerated (clients send UTF-8 search strings), NUL,
        CR and LF are not, and only ``\\"`` and ``\\\\`` are valid escapes.
        """
        data = self.data
        if data[self.pos : self.pos + 1] != b'"':
            raise ParseError(f"Expected a quoted string at {self.where()}")
        i = self.pos + 1
        out = bytearray()
        while True:
            if i >= len(data):
                raise ParseError("Unterminated quoted string")
            c = data[i]
            if c == 0x22:
                self.pos = i + 1
                return bytes(out)
            if c == 0x5C:
                nxt = data[i + 1 : i + 2]
                if nxt not in (b'"', b"\\"):
                    raise ParseError('Invalid escape in quoted string (only \\" and \\\\)')
                out += nxt
                i += 2
                continue
            if c in (0x00, 0x0A, 0x0D):
                raise ParseError("Quoted string contains CR, LF or NUL; use a literal")
            out.append(c)
            i += 1

    def literal(self, *, allow_nul: bool = False, allow_literal8: bool = False) -> bytes:
        """A ``literal`` (``{n}`` or LITERAL+ ``{n+}``; ``~{n}`` when ``allow_literal8``)."""
        m = _LITERAL.match(self.data, self.pos)
        if m is None:
            raise ParseError(f"Expected a literal at {self.where()}")
        if m.group(1) and not allow_literal8:
            raise ParseError("literal8 (~{n}) is not allowed here")
        size = int(m.group(2))
        start = m.end()
        if self.spooled and start in self.spooled:
            # Only an APPEND message is spooled (its octets are not in ``data``).
            raise ParseError(f"A literal of {size} octets is not accepted here")
        if start + size > len(self.data):
            raise ParseError("Literal is shorter than announced")
        value = self.data[start : start + size]
        if not allow_nul and not m.group(1) and b"\x00" in value:
            raise ParseError("Literal contains NUL")
        self.pos = start + size
        return value

    def message_literal(self) -> bytes | LiteralSink:
        """An APPEND message: a literal or literal8, inline or spooled by the framer.

        NUL is allowed here (RFC 3516 literal8; a plain literal with NUL is the
        store's business, as clients do send them).
        """
        m = _LITERAL.match(self.data, self.pos)
        if m is not None and self.spooled:
            sink = self.spooled.get(m.end())
            if sink is not None:
                self.pos = m.end()
                return sink
        return self.literal(allow_nul=True, allow_literal8=True)

    def is_literal(self) -> bool:
        """True when a literal (or literal8) starts here."""
        c = self.peek()
        return c == b"{" or (c == b"~" and self.peek(2) == b"~{")

    def string(self) -> bytes:
        """A ``string``: quoted or literal."""
        if self.peek() == b'"':
            return self.quoted()
        if self.peek() == b"{":
            return self.literal()
        raise ParseError(f"Expected a string at {self.where()}")

    def astring(self, what: str = "a string") -> bytes:
        """An ``astring``: 1*ASTRING-CHAR or a string."""
        c = self.peek()
        if c == b'"' or c == b"{":
            return self.string()
        value = self.match(_ASTRING_ATOM)
        if value is None:
            raise ParseError(f"Expected {what} at {self.where()}")
        return value

    def nstring(self) -> bytes | None:
        """An ``nstring``: a string or NIL."""
        if self.peek(3).upper() == b"NIL" and not _ASTRING_ATOM.match(self.data, self.pos + 3):
            self.pos += 3
            return None
        return self.string()

    def text_astring(self, what: str = "a string") -> str:
        """An astring decoded as UTF-8 (invalid octets replaced): user names, search text."""
        return self.astring(what).decode("utf-8", "replace")

    # -- mailboxes -----------------------------------------------------------

    def mailbox(self) -> str:
        """A ``mailbox``: INBOX in any case, otherwise modified UTF-7 (RFC 3501 5.1.3)."""
        raw = self.astring("a mailbox name")
        return decode_mailbox(raw)

    def list_mailbox(self) -> str:
        """A ``list-mailbox`` pattern: like a mailbox, but ``%`` and ``*`` may appear unquoted."""
        c = self.peek()
        if c == b'"' or c == b"{":
            raw = self.string()
        else:
            got = self.match(_LIST_ATOM)
            if got is None:
                raise ParseError(f"Expected a mailbox pattern at {self.where()}")
            raw = got
        try:
            return decode_mutf7(raw.decode("ascii"))
        except (UnicodeDecodeError, MUTF7Error):
            # A pattern may cut a shift sequence at a wildcard; match it as written.
            return raw.decode("utf-8", "replace")

    # -- lists ---------------------------------------------------------------

    def open_paren(self) -> None:
        """Consume "(" and count nesting (RFC 3501 lists nest; we bound the depth)."""
        self.expect(b"(")
        self.depth += 1
        if self.depth > IMAP_MAX_PAREN_DEPTH:
            raise ParseError(f"Parentheses nested deeper than {IMAP_MAX_PAREN_DEPTH}")

    def close_paren(self) -> bool:
        """Consume ")" when it comes next."""
        if self.take(b")"):
            self.depth -= 1
            return True
        return False

    def flag(self, *, allow_recent: bool = False, allow_wildcard: bool = False) -> str:
        """A ``flag``: a system flag (canonical case) or a keyword atom."""
        if self.take(b"\\"):
            if allow_wildcard and self.take(b"*"):
                return "\\*"
            name = self.atom("a flag name")
            flag = b"\\" + name
            upper = flag.decode("ascii").upper()
            if upper in SYSTEM_FLAGS:
                return SYSTEM_FLAGS[upper]
            if upper == "\\RECENT" and allow_recent:
                return "\\Recent"
            raise ParseError(f"Invalid system flag {flag.decode('ascii')}")
        return self.atom("a flag").decode("ascii")

    def flag_list(self, *, allow_recent: bool = False) -> tuple[str, ...]:
        """A parenthesised, space-separated ``flag-list`` (may be empty)."""
        self.open_paren()
        flags: list[str] = []
        if self.close_paren():
            return ()
        while True:
            flags.append(self.flag(allow_recent=allow_recent))
            if self.close_paren():
                return tuple(dict.fromkeys(flags))
            self.sp()

    # -- sets and dates ------------------------------------------------------

    def seq_set(self, *, allow_saved: bool = True) -> SequenceSet:
        """A ``sequence-set``, or ``$`` (RFC 5182 SEARCHRES) when allowed."""
        if allow_saved and self.peek() == b"$":
            self.pos += 1
            return SequenceSet(saved=True)
        raw = self.match(_SEQ_SET)
        if raw is None:
            raise ParseError(f"Expected a sequence set at {self.where()}")
        ranges: list[tuple[int | None, int | None]] = []
        for part in raw.split(b","):
            ends: list[int | None] = []
            for piece in part.split(b":"):
                if piece == b"*":
                    ends.append(None)
                    continue
                if len(piece) > 10 or not 0 < int(piece) <= NUMBER_MAX:
                    raise ParseError(f"Invalid number {_show(piece)} in sequence set")
                ends.append(int(piece))
            low, high = ends[0], ends[-1]
            # RFC 3501 section 9: "4:2" is the same range as "2:4".
            if low is not None and high is not None and low > high:
                low, high = high, low
            elif low is None and high is not None:
                low, high = high, None
            ranges.append((low, high))
        return SequenceSet(tuple(ranges))

    def date(self) -> datetime.date:
        """A ``date`` (``d-Mon-yyyy``, optionally quoted), for SEARCH."""
        quoted = self.take(b'"')
        m = _DATE.match(self.data, self.pos)
        if m is None:
            raise ParseError(f"Expected a date (like 1-Feb-1994) at {self.where()}")
        month = _MONTH_NUM.get(m.group(2).upper())
        try:
            if month is None:
                raise ValueError("month")
            value = datetime.date(int(m.group(3)), month, int(m.group(1)))
        except ValueError:
            raise ParseError(f"Invalid date {_show(m.group(0))}") from None
        self.pos = m.end()
        if quoted:
            self.expect(b'"', "closing quote of the date")
        return value

    def date_time(self) -> datetime.datetime:
        """A ``date-time`` (``"dd-Mon-yyyy hh:mm:ss +zzzz"``), as an aware datetime."""
        m = _DATE_TIME.match(self.data, self.pos)
        if m is None:
            raise ParseError(
                f'Expected a date-time (like "17-Jul-1996 02:44:25 -0700") at {self.where()}'
            )
        g = m.groups()
        month = _MONTH_NUM.get(g[1].upper())
        try:
            if month is None:
                raise ValueError("month")
            offset = datetime.timedelta(hours=int(g[7]), minutes=int(g[8]))
            if g[6] == b"-":
                offset = -offset
            value = datetime.datetime(
                int(g[2]),
                month,
                int(g[0]),
                int(g[3]),
                int(g[4]),
                int(g[5]),
                tzinfo=datetime.timezone(offset),
            )
        except ValueError:
            raise ParseError(f"Invalid date-time {_show(m.group(0))}") from None
        self.pos = m.end()
        return value


def decode_mailbox(raw: bytes) -> str:
    """A mailbox name off the wire as Unicode: INBOX in any case, else modified UTF-7.

    Raises:
        ParseError: the name is not valid modified UTF-7 (RFC 3501 5.1.3).
    """
    if raw.upper() == b"INBOX":
        return "INBOX"
    try:
        return decode_mutf7(raw.decode("ascii"))
    except UnicodeDecodeError:
        raise ParseError("Mailbox name has 8-bit characters; use modified UTF-7") from None
    except MUTF7Error as e:
        raise ParseError(f"Mailbox name is not valid modified UTF-7: {e}") from None


def _show(raw: bytes) -> str:
    """Client bytes made safe to echo in a response text (one line, printable)."""
    text = raw.decode("ascii", "replace")
    return '"' + "".join(c if " " <= c <= "~" else "?" for c in text) + '"'
