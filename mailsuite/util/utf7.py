"""Modified UTF-7 (RFC 3501 section 5.1.3), the encoding of IMAP mailbox names.

Shared by the IMAP wire layer and the Maildir store (Dovecot keeps folder
names on disk in this form, so we must too to serve its Maildirs unchanged).
"""

from __future__ import annotations

import base64
import binascii

__all__ = ["encode_mutf7", "decode_mutf7", "MUTF7Error"]


class MUTF7Error(ValueError):
    """The bytes are not valid modified UTF-7."""


def encode_mutf7(name: str) -> str:
    """Encode a Unicode mailbox name as modified UTF-7 (ASCII only in the result)."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            raw = "".join(pending).encode("utf-16-be")
            b64 = base64.b64encode(raw).decode("ascii").rstrip("=").replace("/", ",")
            out.append("&" + b64 + "-")
            pending.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return "".join(out)


def decode_mutf7(name: str) -> str:
    """Decode a modified UTF-7 mailbox name.

    Raises:
        MUTF7Error: the name is not valid modified UTF-7 (bad base64, 8-bit
            characters, an unterminated shift, or a non-canonical encoding).
    """
    out: list[str] = []
    i = 0
    n = len(name)
    while i < n:
        ch = name[i]
        if not 0x20 <= ord(ch) <= 0x7E:
            raise MUTF7Error(f"character {ch!r} is not allowed in modified UTF-7")
        if ch != "&":
            out.append(ch)
            i += 1
            continue
        end = name.find("-", i + 1)
        if end < 0:
            raise MUTF7Error("unterminated '&' shift")
        chunk = name[i + 1 : end]
        if not chunk:
            out.append("&")
        else:
            b64 = chunk.replace(",", "/")
            b64 += "=" * (-len(b64) % 4)
            try:
                raw = base64.b64decode(b64, validate=True)
                text = raw.decode("utf-16-be")
            except (binascii.Error, UnicodeDecodeError) as e:
                raise MUTF7Error(f"bad modified UTF-7 sequence {chunk!r}: {e}") from None
            if any(0x20 <= ord(c) <= 0x7E for c in text):
                raise MUTF7Error(f"printable ASCII must not be shifted: {chunk!r}")
            out.append(text)
        i = end + 1
    decoded = "".join(out)
    if encode_mutf7(decoded) != name:
        raise MUTF7Error(f"non-canonical modified UTF-7 {name!r}")
    return decoded
