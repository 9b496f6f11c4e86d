"""What the store learns from reading a message file once.

One pass over the bytes gives the SHA-1 (recorded for integrity checks),
the physical and CRLF sizes, and the common header fields for the cache.
ENVELOPE and BODYSTRUCTURE come from :mod:`mailsuite.message`, imported
lazily so the store works (without those two cached blobs) before that
package exists.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CACHED_HEADERS",
    "Facts",
    "FactsBuilder",
    "facts_of_file",
    "header_blob",
    "parse_blobs",
]

# Header fields clients ask for in nearly every FETCH (Thunderbird, mutt, Roundcube).
CACHED_HEADERS = (
    "date",
    "from",
    "to",
    "cc",
    "subject",
    "message-id",
    "in-reply-to",
    "references",
    "content-type",
    "list-id",
    "reply-to",
)
_CACHED_FIELD = re.compile(
    r"^(" + "|".join(re.escape(h) for h in CACHED_HEADERS) + r")[ \t]*:(.*(?:\r?\n[ \t].*)*)",
    re.IGNORECASE | re.MULTILINE,
)
_FOLD = re.compile(r"\r?\n[ \t]+")
_READ_CHUNK_BYTES = 1 << 16
_MAX_HEADER_BYTES = 1 << 20  # cache at most this much header; the rest stays in the file


@dataclass(frozen=True, slots=True)
class Facts:
    sha1: str
    psize: int
    vsize: int
    header: bytes  # the raw header block (up to _MAX_HEADER_BYTES)


class FactsBuilder:
    """Feed a message chunk by chunk; counts CRLF size, hashes, keeps the header."""

    def __init__(self) -> None:
        self._sha = hashlib.sha1()
        self._size = 0
        self._bare_lf = 0
        self._prev_cr = False
        self._header = bytearray()
        self._header_done = False

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        self._sha.update(chunk)
        self._size += len(chunk)
        # RFC 822 size counts every line end as CRLF: add one per LF not after CR.
        lf = chunk.count(b"\n")
        crlf = chunk.count(b"\r\n")
        if self._prev_cr and chunk[:1] == b"\n":
            crlf += 1
        self._bare_lf += lf - crlf
        self._prev_cr = chunk[-1:] == b"\r"
        if not self._header_done:
            self._header += chunk
            for sep in (b"\r\n\r\n", b"\n\n", b"\n\r\n"):
                pos = self._header.find(sep)
                if pos >= 0:
                    del self._header[pos + len(sep) :]
                    self._header_done = True
                    break
            if len(self._header) > _MAX_HEADER_BYTES:
                del self._header[_MAX_HEADER_BYTES:]
                self._header_done = True

    def result(self) -> Facts:
        return Facts(self._sha.hexdigest(), self._size, self._size + self._bare_lf,
                     bytes(self._header))  # fmt: skip


def facts_of_file(path: str) -> Facts:
    b = FactsBuilder()
    with open(path, "rb") as f:
        while chunk := f.read(_READ_CHUNK_BYTES):
            b.feed(chunk)
    return b.result()


def header_blob(header: bytes) -> bytes:
    """JSON of the cached header fields (unfolded raw values, all occurrences).

    Values are the header bytes decoded as UTF-8 with ``surrogateescape``, so
    ``value.encode("utf-8", "surrogateescape")`` gives the raw bytes back.
    """
    fields: dict[str, list[str]] = {}
    text = header.decode("utf-8", "surrogateescape")
    # One regex pass in C instead of a Python loop over every header line.
    for m in _CACHED_FIELD.finditer(text):
        value = _FOLD.sub(" ", m.group(2)).strip()
        fields.setdefault(m.group(1).lower(), []).append(value)
    # ASCII JSON: bytes that are not UTF-8 survive as \udcXX escapes (surrogateescape).
    return json.dumps(fields, ensure_ascii=True, sort_keys=True).encode("ascii")


def parse_blobs(read: Callable[[], Any]) -> dict[str, bytes]:
    """ENVELOPE and BODYSTRUCTURE blobs, when :mod:`mailsuite.message` is available.

    Args:
        read: returns a :class:`mailsuite.message.Message` (called only when
            the package imports).
    """
    try:
        import mailsuite.message  # noqa: F401
    except ImportError:
        return {}
    try:
        msg = read()
        return {"env": msg.envelope().to_blob(), "bs": msg.bodystructure().to_blob()}
    except (AttributeError, NotImplementedError, ImportError):
        # The message package is mid-construction; the cache just stays empty.
        return {}
