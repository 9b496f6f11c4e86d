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
    "decoded",
    "fold",
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
    """A search string prepared once: folded, white space collapsed when it has any."""

    text: str
    spaced: bool  # the needle contains white space: collapse the haystack's runs too

    @classmethod
    def of(cls, value: str) -> Needle:
        folded = fold(value)
        spaced = WSP.search(folded) is not None
        return cls(WSP.sub(" ", folded) if spaced else folded, spaced)

    def found_in(self, haystack: str) -> bool:
        # A needle without white space lies inside one non-space run of the
        # haystack, which collapsing would not change: skip that work.
        hay = fold(haystack)
        if self.spaced:
            hay = WSP.sub(" ", hay)
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
