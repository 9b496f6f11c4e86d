"""Text matching for SEARCH: case folding, white space, decoded headers, addresses, dates.

The RFC 3501 6.4.4 string keys say only "contains"; the rules here are ours,
close to Dovecot's: both sides are case-folded (Unicode ``casefold`` after NFC),
and a search string that holds white space matches across any run of white
space, so a phrase split by header folding or a body line break still matches.
"""

from __future__ import annotations

import datetime
import email.utils
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final

from mailsuite.message import Message
from mailsuite.message.address import parse_address_list
from mailsuite.message.headers import decode_2047

__all__ = [
    "ADDRESS_FIELDS",
    "QUOTING",
    "Needle",
    "address_forms",
    "body_may_contain",
    "decoded",
    "fold",
    "header_may_contain",
    "header_text",
    "parse_sent_date",
    "part_header_texts",
]

# Fields whose values are address lists (RFC 5322 section 3.6.2, 3.6.3, 3.6.6).
ADDRESS_FIELDS: Final = frozenset(
    {"from", "to", "cc", "bcc", "sender", "reply-to", "resent-from", "resent-to", "resent-cc"}
    | {"resent-bcc", "resent-sender"}
)
# What makes an address field's parsed form differ from its decoded text.
QUOTING: Final = re.compile(r'["(\\]')
WSP: Final = re.compile(r"\s+")
# Charsets in which ASCII bytes decode to the same ASCII text and only to it
# (not UTF-7/16/32, EBCDIC, ISO-2022 or HZ, whose escapes or shifts do not).
ASCII_CHARSETS: Final = frozenset(
    {"us-ascii", "ascii", "utf-8", "utf8", "latin1", "latin-1", "koi8-r", "koi8-u"}
    | {f"iso-8859-{n}" for n in range(1, 17)}
    | {f"windows-{n}" for n in range(1250, 1259)}
    | {f"cp{n}" for n in range(1250, 1259)}
    | {"gb2312", "gbk", "gb18030", "big5", "euc-jp", "euc-kr", "shift_jis", "tis-620"}
)
CHARSET_PARAM: Final = re.compile(rb'charset\s*=\s*"?([a-z0-9_.:-]*)"?(?=[\s;]|$)')
FOLDING: Final = re.compile(rb"\r?\n(?=[ \t])")
MAX_PART_DEPTH: Final = 32  # deeper MIME nesting is not searched for headers
NO_MAILBOX: Final = "MISSING_MAILBOX"
NO_DOMAIN: Final = "MISSING_DOMAIN"


def fold(text: str) -> str:
    """Case-fold for comparison; non-ASCII text is NFC-normalised first."""
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return text.casefold()


@dataclass(frozen=True, slots=True)
class Needle:
    """A search string prepared once: folded, and for one with white space, patterns.

    A needle with white space matches across any run of white space; it is
    searched as a pattern (words joined by ``\\s+``) rather than by
    collapsing every haystack, which costs a replacement per space.
    """

    text: str
    ascii: bytes | None = None  # ``text`` as bytes when it is ASCII (for body_may_contain)
    pattern: re.Pattern[str] | None = None  # set when the needle holds white space
    bpattern: re.Pattern[bytes] | None = None  # the same for ASCII bytes

    @property
    def spaced(self) -> bool:
        return self.pattern is not None

    @classmethod
    def of(cls, value: str) -> Needle:
        folded = fold(value)
        text = WSP.sub(" ", folded)
        ascii = text.encode("ascii") if text.isascii() else None
        if WSP.search(folded) is None:
            return cls(text, ascii)
        words = text.split(" ")
        pattern = re.compile(r"\s+".join(re.escape(w) for w in words))
        bpattern = None
        if ascii is not None:
            bwords = [re.escape(w.encode("ascii")) for w in words]
            # Among ASCII, str's \s also matches \x1c-\x1f; bytes' does not.
            bpattern = re.compile(rb"[\s\x1c-\x1f]+".join(bwords))
        return cls(text, ascii, pattern, bpattern)

    def found_in(self, haystack: str) -> bool:
        hay = fold(haystack)
        if self.pattern is not None:
            return self.pattern.search(hay) is not None
        return self.text in hay


def parse_sent_date(value: str) -> datetime.date | None:
    """The calendar day written in a Date: field (RFC 5322 3.3), zone ignored."""
    try:
        parts = email.utils.parsedate_tz(value)
        if parts is None:
            return None
        return datetime.date(parts[0], parts[1], parts[2])
    except (ValueError, TypeError, OverflowError, IndexError):
        return None


def address_forms(values: list[str]) -> Iterable[str]:
    """Each address of the fields as ``Name <local@domain>`` with the name decoded."""
    for raw in values:
        for addr in parse_address_list(raw) or ():
            if addr.host is None:
                if addr.mailbox:  # a group's name (RFC 3501 7.4.2 group start)
                    yield decoded(addr.mailbox)
                continue
            # ENVELOPE's stand-ins for a missing part are not text the mail holds.
            local = "" if addr.mailbox == NO_MAILBOX else addr.mailbox or ""
            host = "" if addr.host == NO_DOMAIN else addr.host
            spec = f"{local}@{host}" if local and host else local or host
            name = decoded(addr.name) if addr.name else ""
            yield f"{name} <{spec}>" if name and spec else name or spec


def decoded(text: str) -> str:
    """RFC 2047-decode a raw (surrogate-escaped) header string."""
    return decode_2047(text.encode("utf-8", "surrogateescape"))


def part_header_texts(msg: Message) -> Iterator[str]:
    """The decoded header block of every body part and encapsulated message, in part order.

    TEXT searches the whole message (RFC 3501 6.4.4), so the MIME headers of
    parts and the headers of message/rfc822 parts count, as in Dovecot; BODY
    does not look at them.
    """

    def walk(path: tuple[int, ...]) -> Iterator[bytes]:
        if len(path) >= MAX_PART_DEPTH:
            return
        n = 1
        while (mime := msg.section((*path, n), "MIME")) is not None:
            yield mime
            inner = msg.section((*path, n), "HEADER")  # message/rfc822 parts only
            if inner is not None:
                yield inner
            yield from walk((*path, n))
            n += 1

    ctype = msg.header_values("Content-Type")
    if not (ctype and ctype[0].lower().startswith(("multipart/", "message/"))):
        return  # a single part: its only header is the message's own
    seen: set[bytes] = set()
    for block in walk(()):
        # Part 1 of a single-part entity repeats its header as its MIME header.
        if block not in seen:
            seen.add(block)
            yield header_text(block)


def header_text(block: bytes) -> str:
    """A header block unfolded (RFC 5322 2.2.3) and RFC 2047-decoded, fields on their lines."""
    return decode_2047(FOLDING.sub(b"", block))


def body_may_contain(raw: bytes, needle: Needle) -> bool:
    """Whether a decoded text part of the message ``raw`` might contain ``needle``.

    False only when that is impossible, so a BODY search can skip parsing the
    MIME tree: the message is ASCII, nothing in it is base64 or
    quoted-printable, and every charset it names maps ASCII to itself. Its
    text parts are then substrings of ``raw`` and case folding of ASCII is
    lower-casing, so the needle must appear in ``raw`` itself.
    """
    if needle.ascii is None or not raw.isascii():
        return True  # casefold may map non-ASCII ("\u212a", "\u00df") onto ASCII
    low = raw.lower()
    if b"base64" in low or b"quoted-printable" in low:
        return True
    if b"charset" in low:
        # Each mention must be a plain charset=name of a known charset; any other
        # form (RFC 2231 charset*, comments, odd quoting) may hide another one.
        mentions = low.count(b"charset")
        plain = CHARSET_PARAM.findall(low)
        if len(plain) != mentions or any(c.decode() not in ASCII_CHARSETS for c in plain):
            return True
    if needle.bpattern is not None:
        return needle.bpattern.search(low) is not None
    return needle.ascii in low


def header_may_contain(block: bytes, needle: Needle) -> bool:
    """Whether a decoded, unfolded field value of the header ``block`` might contain ``needle``.

    False only when impossible: the header is ASCII without encoded words, so
    every value is a substring of it up to folding, which the needle's
    white-space pattern spans.
    """
    if needle.ascii is None or not block.isascii() or b"=?" in block:
        return True
    low = block.lower()
    if needle.bpattern is not None:
        return needle.bpattern.search(low) is not None
    return needle.ascii in low
