"""Addresses as Sieve sees them: header parsing, address parts, subaddresses.

Covers RFC 5228 2.7.4 (``:all``, ``:localpart``, ``:domain``), RFC 5233
(``:user``, ``:detail``) and the address syntax checks that ``redirect`` and
``vacation :from``/``:addresses`` need (RFC 5228 4.2, RFC 5230 4.3).
"""

from __future__ import annotations

import enum
import re
from email.utils import getaddresses, parseaddr
from typing import Final

from mailsuite.sieve.match import ascii_casefold

__all__ = [
    "AddressPart",
    "address_part",
    "header_addresses",
    "normalize_address",
    "split_local",
]


class AddressPart(enum.Enum):
    ALL = "all"
    LOCALPART = "localpart"
    DOMAIN = "domain"
    USER = "user"  # RFC 5233
    DETAIL = "detail"  # RFC 5233


# RFC 5322 3.2.3 atext (plus "." for dot-atom) and non-ASCII (RFC 6532), or a quoted string.
_LOCAL: Final = (
    r"""(?:[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\-\u0080-\U0010ffff]+|"(?:[^"\\\r\n]|\\[^\r\n])*")"""
)
_DOMAIN: Final = (
    r"(?:[A-Za-z0-9\-\u0080-\U0010ffff]+(?:\.[A-Za-z0-9\-\u0080-\U0010ffff]+)*|\[[^\]\s]+\])"
)
_ADDR_SPEC: Final = re.compile(rf"{_LOCAL}@{_DOMAIN}")


def normalize_address(text: str) -> str | None:
    """Return the addr-spec of a single address, or None when it is not one.

    Accepts ``user@example.org``, ``<user@example.org>`` and
    ``Name <user@example.org>``.
    """
    text = text.strip()
    if not text:
        return None
    if not _ADDR_SPEC.fullmatch(text):
        _, text = parseaddr(text)
        if not text or not _ADDR_SPEC.fullmatch(text):
            return None
    # Domains are case-insensitive (RFC 5321 2.4); the local part is not.
    local, domain = split_local(text)
    return f"{local}@{ascii_casefold(domain)}"


def header_addresses(values: list[str]) -> list[str]:
    """Every addr-spec in address-list header values (groups flattened, empties dropped)."""
    out: list[str] = []
    for _name, addr in getaddresses(values):
        addr = addr.strip()
        if addr:
            out.append(addr)
    return out


def split_local(address: str) -> tuple[str, str]:
    """Split at the last "@" into local part and domain (domain "" when there is none)."""
    # The last "@": a quoted local part may itself hold "@".
    at = address.rfind("@")
    if at < 0:
        return address, ""
    return address[:at], address[at + 1 :]


def address_part(address: str, part: AddressPart, separators: str) -> str | None:
    """The part of ``address`` a test compares, or None when it has no such part.

    Args:
        address: an addr-spec ("" for the null reverse-path).
        part: which part.
        separators: the recipient delimiter characters; each one separates
            user from detail (Dovecot's ``recipient_delimiter`` semantics).

    Returns:
        The part's text; None for ``:detail`` on an address without a
        separator, which RFC 5233 4 says never matches.
    """
    if address == "":
        # RFC 5228 5.4: the null reverse-path is the empty string for every part.
        return None if part is AddressPart.DETAIL else ""
    if part is AddressPart.ALL:
        return address
    local, domain = split_local(address)
    if part is AddressPart.DOMAIN:
        return domain
    if part is AddressPart.LOCALPART:
        return local
    # RFC 5233 4: the user part is everything up to the first separator and
    # the detail everything after it; "ken+@x" has user "ken" and detail "".
    cut = -1
    for sep in separators:
        i = local.find(sep)
        if i >= 0 and (cut < 0 or i < cut):
            cut = i
    if part is AddressPart.USER:
        return local if cut < 0 else local[:cut]
    return None if cut < 0 else local[cut + 1 :]
