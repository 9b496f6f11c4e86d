"""The IMAP wire layer: framing, the grammar primitives, and response encoding. No Twisted.

Modules: ``framer`` (bytes -> complete commands, literal requests, limit
events), ``reader`` (RFC 3501 section 9 primitives), ``seqset`` (sequence
sets), ``encode`` (strings, mailbox names, flags, dates), ``responses``
(status lines and response codes), ``data`` (untagged data responses),
``fetchrender`` (FETCH item values).
"""

from __future__ import annotations

from .framer import (
    CommandBytes,
    Event,
    Framer,
    InputOverflow,
    LineTooLong,
    LiteralTooLarge,
    NeedLiteral,
)
from .reader import ParseError, Reader, decode_mailbox
from .seqset import SequenceSet, format_numbers, format_uid_pairs

__all__ = [
    "CommandBytes",
    "Event",
    "Framer",
    "InputOverflow",
    "LineTooLong",
    "LiteralTooLarge",
    "NeedLiteral",
    "ParseError",
    "Reader",
    "SequenceSet",
    "decode_mailbox",
    "format_numbers",
    "format_uid_pairs",
]
