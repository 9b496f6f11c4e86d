"""Decoded text of a message's text/* parts, for SEARCH BODY/TEXT and Sieve.

Transfer encodings (RFC 2045 section 6) and charsets are undone; an unknown
charset is read as UTF-8 and undecodable bytes become U+FFFD, so a search
never fails on a bad part.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator

from mailsuite.message.headers import charset_decode, decode_raw
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
    """The part's charset parameter (US-ASCII when it names none)."""
    return next((v for k, v in part.params if k.lower() == "charset"), "us-ascii")


def _decode(data: bytes, charset: str) -> str:
    # US-ASCII mail routinely carries 8-bit text: UTF-8 reads it best. An
    # unknown or unusable charset falls back to UTF-8 too.
    if charset.strip().lower() in ("us-ascii", "ascii"):
        charset = "utf-8"
    text = charset_decode(data, charset)
    return text if text is not None else data.decode("utf-8", "replace")


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
        yield _decode(data, part_charset(part))
