"""The "encoded-character" extension (RFC 5228 2.4.2.4).

With ``require "encoded-character"``, ``${hex:48 49}`` and ``${unicode:1F600}``
inside strings stand for the characters they encode. Text that does not
follow the grammar is left as it is; an encoding that names no valid
character is an error.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["decode_encoded_characters"]

# blank = WSP / CRLF; the sequence may start and end with blanks.
_ENCODED: Final = re.compile(r"\$\{(hex|unicode):([ \t\r\n0-9A-Fa-f]*)\}", re.IGNORECASE)
_HEX_PAIR: Final = re.compile(r"[0-9A-Fa-f]{1,2}")
_UNICODE_HEX: Final = re.compile(r"[0-9A-Fa-f]{1,8}")


class EncodingError(ValueError):
    """An encoded character sequence names no valid character."""


def decode_encoded_characters(value: str) -> str:
    """Replace every well-formed ``${hex:..}`` / ``${unicode:..}`` in ``value``.

    Raises:
        ValueError: a sequence decodes to invalid UTF-8 or to a code point
            outside 0-D7FF and E000-10FFFF (RFC 5228 2.4.2.4).
    """
    if "${" not in value:
        return value

    def repl(m: re.Match[str]) -> str:
        kind = m.group(1).lower()
        items = m.group(2).split()
        pattern = _HEX_PAIR if kind == "hex" else _UNICODE_HEX
        if not items or not all(pattern.fullmatch(i) for i in items):
            return m.group(0)  # not an encoding: the text stays as written
        if kind == "hex":
            try:
                return bytes(int(i, 16) for i in items).decode("utf-8")
            except UnicodeDecodeError:
                raise EncodingError(f"{m.group(0)!r} is not valid UTF-8") from None
        out = []
        for i in items:
            cp = int(i, 16)
            if cp > 0x10FFFF or 0xD800 <= cp <= 0xDFFF:
                raise EncodingError(f"{m.group(0)!r}: U+{cp:X} is not a character")
            out.append(chr(cp))
        return "".join(out)

    return _ENCODED.sub(repl, value)
