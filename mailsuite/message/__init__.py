"""Lazy message parsing: header, MIME tree, ENVELOPE/BODYSTRUCTURE, sections.

Imports no Twisted and never raises on a malformed message. Every byte and
size it returns uses CRLF line ends (see :mod:`mailsuite.message.crlf`).
"""

from __future__ import annotations

from mailsuite.message.crlf import crlf_chunks, crlf_size, to_crlf
from mailsuite.message.message import Message
from mailsuite.message.model import Address, BodyStructure, Envelope

__all__ = [
    "Address",
    "BodyStructure",
    "Envelope",
    "Message",
    "crlf_chunks",
    "crlf_size",
    "to_crlf",
]
