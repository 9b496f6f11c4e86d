"""A header block: fields in order, unfolding, RFC 2047 decoding, selection.

The block is kept as CRLF bytes; fields are split lazily and only once.
Nothing here raises on bad input: a line without a colon is kept as a field
with an empty name (so HEADER.FIELDS.NOT still returns it and sizes add up),
8-bit bytes are decoded as UTF-8 with ``surrogateescape`` for the raw views
and with a Latin-1 fallback for the decoded ones.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from collections.abc import Iterable

__all__ = [
    "HeaderBlock",
    "charset_decode",
    "decode_2047",
    "decode_raw",
    "for_humans",
    "no_lf",
    "unfold",
]

_ENCODED_WORD = re.compile(rb"=\?([^?\s]+)\?([QqBb])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(rb"[ \t\r\n]*")
_WSP_RUN = re.compile(r"[ \t]+")
_BREAK_NOT_FOLD = re.compile(r"(?:\r\n|\r|\n)(?![ \t\r\n]|$)")


class HeaderBlock:
    """The header of one message or MIME part.

    Args:
        data: the header in CRLF form, normally ending with the blank line.
    """

    __slots__ = ("data", "_fields", "_index")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self._fields: list[tuple[str, bytes]] | None = None
        self._index: dict[str, list[int]] | None = None

    def fields(self) -> list[tuple[str, bytes]]:
        """All fields as ``(name, raw field bytes incl. continuation lines and CRLF)``."""
        if self._fields is None:
            self._fields = _split_fields(self.data)
        return self._fields

    def _lookup(self) -> dict[str, list[int]]:
        if self._index is None:
            index: dict[str, list[int]] = {}
            for i, (name, _raw) in enumerate(self.fields()):
                index.setdefault(name.lower(), []).append(i)
            self._index = index
        return self._index

    def names(self) -> list[str]:
        """Field names in header order (duplicates kept, colon-less lines left out)."""
        return [n for n, _ in self.fields() if n]

    def raw_values(self, name: str) -> list[bytes]:
        """Raw values of every field called ``name`` (case-insensitive), folds kept.

        The value is what follows the colon, without the final CRLF.
        """
        out = []
        fields = self.fields()
        for i in self._lookup().get(name.lower(), ()):
            raw = fields[i][1]
            colon = raw.find(b":")
            value = raw[colon + 1 :]
            if value.endswith(b"\r\n"):
                value = value[:-2]
            out.append(value)
        return out

    def first(self, name: str) -> bytes | None:
        """The raw value of the first ``name`` field, or None."""
        idx = self._lookup().get(name.lower())
        if not idx:
            return None
        raw = self.fields()[idx[0]][1]
        value = raw[raw.find(b":") + 1 :]
        return value[:-2] if value.endswith(b"\r\n") else value

    def select(self, names: Iterable[str], *, exclude: bool = False) -> bytes:
        """HEADER.FIELDS / HEADER.FIELDS.NOT (RFC 3501 section 6.4.5).

        Returns the matching fields in header order followed by the blank
        line that ends a header, in CRLF form.
        """
        wanted = {n.lower() for n in names}
        parts = [raw for name, raw in self.fields() if (name.lower() in wanted) != exclude]
        parts.append(b"\r\n")
        return b"".join(parts)


def _split_fields(data: bytes) -> list[tuple[str, bytes]]:
    fields: list[tuple[str, bytes]] = []
    name: str | None = None
    lines: list[bytes] = []
    for line in data.split(b"\r\n"):
        if not line:
            break  # RFC 5322 section 2.1: the first empty line ends the header
        if line[0] in (0x20, 0x09) and name is not None:
            lines.append(line)  # RFC 5322 section 2.2.3: a folded continuation
            continue
        if name is not None:
            fields.append((name, b"\r\n".join(lines) + b"\r\n"))
        colon = line.find(b":")
        # RFC 822 allowed white space before the colon ("Subject : x").
        name = line[:colon].rstrip(b" \t").decode("latin-1") if colon > 0 else ""
        lines = [line]
    if name is not None:
        fields.append((name, b"\r\n".join(lines) + b"\r\n"))
    return fields


def decode_raw(value: bytes) -> str:
    """Header bytes as ``str`` without losing any byte (UTF-8, ``surrogateescape``)."""
    return value.decode("utf-8", "surrogateescape")


def unfold(value: bytes) -> bytes:
    """RFC 5322 section 2.2.3 unfolding: drop the CRLFs, keep the white space."""
    return value.replace(b"\r\n", b"").replace(b"\n", b"")


def no_lf(value: str) -> str:
    """Strip leading white space and line breaks, as Dovecot sends header strings.

    A line break not followed by white space becomes one space, so words never
    run together; NUL, which IMAP strings cannot carry, becomes U+FFFD.
    """
    value = value.lstrip(" \t\r\n")
    if "\r" in value or "\n" in value:
        value = _BREAK_NOT_FOLD.sub(" ", value)
        value = value.replace("\r", "").replace("\n", "")
    return value.replace("\x00", "\ufffd")


def for_humans(value: str) -> str:
    """Clean a subject or display name for people (Dovecot does the same).

    Tabs and line breaks become spaces, runs of white space one space,
    leading and trailing white space goes, NUL becomes U+FFFD.
    """
    value = value.replace("\r", " ").replace("\n", " ").replace("\x00", "\ufffd")
    return _WSP_RUN.sub(" ", value).strip(" ")


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # RFC 6532 headers are UTF-8; anything else is most often Latin-1.
        return data.decode("latin-1")


def charset_decode(data: bytes, charset: str) -> str | None:
    """Decode ``data`` in a MIME charset, or None when the charset is unusable.

    Only text codecs count: a message naming "base64", "rot13" or "zlib" as
    its charset, or one whose codec fails anyway (idna, punycode), gets None
    rather than an exception. Undecodable bytes become U+FFFD.
    """
    try:
        info = codecs.lookup(charset.strip())
        if not getattr(info, "_is_text_encoding", True):
            return None
        return data.decode(info.name, "replace")
    except (LookupError, UnicodeError, ValueError, TypeError):
        return None


def _decode_word(charset: bytes, enc: bytes, text: bytes) -> str | None:
    cs = charset.decode("ascii", "replace").split("*", 1)[0]  # RFC 2231 section 5 language
    if enc in (b"B", b"b"):
        try:
            raw = base64.b64decode(text + b"=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            return None
    else:
        # RFC 2047 section 4.2: "_" is space in Q encoding.
        raw = binascii.a2b_qp(text.replace(b"_", b" "), header=False)
    return charset_decode(raw, cs)


def decode_2047(value: bytes) -> str:
    """Decode RFC 2047 encoded words in an unfolded header value.

    White space between two adjacent encoded words is dropped (RFC 2047
    section 6.2); an encoded word in an unknown charset is left as it is.
    """
    if b"=?" not in value:
        return _text(value)
    out: list[str] = []
    pos = 0
    last_was_word = False
    for m in _ENCODED_WORD.finditer(value):
        gap = value[pos : m.start()]
        decoded = _decode_word(m.group(1), m.group(2), m.group(3))
        if decoded is None:
            out.append(_text(gap + m.group(0)))
            last_was_word = False
        else:
            if not (last_was_word and _BETWEEN_WORDS.fullmatch(gap)):
                out.append(_text(gap))
            out.append(decoded)
            last_was_word = True
        pos = m.end()
    out.append(_text(value[pos:]))
    return "".join(out)
