"""Decoded text of a message's text/* parts, for SEARCH BODY/TEXT and Sieve.

Transfer encodings (RFC 2045 section 6) and charsets are undone; an unknown
charset is read as UTF-8 and undecodable bytes become U+FFFD, so a search
never fails on a bad part.
"""

from __future__ import annotations

import base64
import binascii
import codecs
from collections.abc import Iterator

from mailsuite.message.headers import decode_raw
from mailsuite.message.mime import Part
from mailsuite.message.params import parse_token

__all__ = ["decode_transfer", "decoded_text_parts", "part_charset"]


def decode_transfer(body: bytes, encoding: str | None) -> bytes:
    """Undo a Content-Transfer-Encoding; unknown or identity encodings pass through."""
    enc = (encoding or "").lower()
    if enc == "base64":
        try:
            return base64.b64decode(b"".join(body.split()) + b"==", validate=False)
        except (binascii.Error, ValueError):
            return body
    if enc == "quoted-printable":
        return binascii.a2b_qp(body)
    return body


def part_charset(part: Part) -> str:
    """The Python codec for a part's charset parameter (UTF-8 when unknown)."""
    cs = next((v for k, v in part.params if k.lower() == "charset"), "us-ascii")
    try:
        name = codecs.lookup(cs.strip()).name
    except (LookupError, ValueError):
        return "utf-8"
    # US-ASCII mail routinely carries 8-bit text; UTF-8 is the better guess for it.
    return "utf-8" if name == "ascii" else name


def _leaves(part: Part, depth: int = 0) -> Iterator[Part]:
    if part.children:
        for c in part.children:
            yield from _leaves(c, depth + 1)
    elif part.message is not None:
        yield from _leaves(part.message, depth + 1)
    elif not part.is_multipart:
        yield part


def decoded_text_parts(root: Part) -> Iterator[str]:
    """Yield the decoded text of every text/* leaf part, in part order."""
    for part in _leaves(root):
        if part.type.lower() != "text":
            continue
        raw_cte = part.header.first("content-transfer-encoding")
        cte = parse_token(decode_raw(raw_cte)) if raw_cte is not None else None
        data = decode_transfer(part.body(), cte)
        yield data.decode(part_charset(part), "replace")
