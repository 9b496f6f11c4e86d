"""A lazily parsed message: the header first, the rest only when asked for.

``Message.from_path`` reads the file up to the blank line that ends the
header; header values, HEADER sections and ENVELOPE come from that alone.
``rfc822_size`` streams the file without keeping it. Anything else that
needs the body (TEXT, BODYSTRUCTURE, part sections) reads the whole file
once and keeps it, in CRLF form, for the life of the object. Every byte and
size returned is in CRLF form (see :mod:`mailsuite.message.crlf`).

Section numbering follows RFC 3501 section 6.4.5: part 1 of a non-multipart
message is its body; the parts of a multipart are numbered from 1; the parts
of a message/rfc822 part are those of the message it encapsulates (part 1 of
an encapsulated non-multipart message is its body). A section that does not
exist returns None. HEADER, HEADER.FIELDS(.NOT) and TEXT of a part apply only
to message/rfc822 parts (else None); MIME only to numbered parts. A leaf part
has no numbered parts ("1.1" of a text part is None; Dovecot answers with the
part itself), except that part 1 of a non-multipart message is its body.
Bytes and sizes match what Dovecot 2.3 sends for the same file (checked by
tests/message/test_dovecot_oracle.py).

A Message caches what it has parsed and is meant for one thread at a time;
making one is cheap. For large bodies sent whole (BODY[], RFC822), stream the
file through :func:`mailsuite.message.crlf_chunks` instead of ``full_bytes``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import BinaryIO

from mailsuite.message.build import build_bodystructure, build_envelope
from mailsuite.message.crlf import bare_lf_count, crlf_size, to_crlf
from mailsuite.message.headers import HeaderBlock, decode_2047, decode_raw, unfold
from mailsuite.message.mime import Part, parse_tree
from mailsuite.message.model import BodyStructure, Envelope
from mailsuite.message.text import decoded_text_parts

__all__ = ["Message", "SECTION_KINDS"]

SECTION_KINDS = frozenset({"HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT", "MIME"})
_READ_BYTES = 8192
_STREAM_BYTES = 65536


def _raw_header_end(data: bytes) -> int:
    """End of the header in raw (LF or CRLF) bytes, just past the blank line; -1 if unseen."""
    if data.startswith(b"\n"):
        return 1
    if data.startswith(b"\r\n"):
        return 2
    a = data.find(b"\n\n")
    b = data.find(b"\n\r\n")
    if a < 0 and b < 0:
        return -1
    if b < 0 or (0 <= a < b):
        return a + 2
    return b + 3


class Message:
    """One message, parsed on demand; nothing here raises on malformed mail.

    Use :meth:`from_bytes`, :meth:`from_path` or :meth:`from_file`.
    """

    __slots__ = (
        "_head_raw",
        "_head_done",
        "_read_more",
        "_read_rest",
        "_size_hint",
        "_short_read_is_eof",
        "_full",
        "_header",
        "_tree",
        "_envelope",
        "_bodystructure",
    )

    def __init__(
        self,
        head_raw: bytes,
        head_done: bool,
        read_more: Callable[[int], bytes] | None,
        read_rest: Callable[[bytes], bytes] | None,
        size_hint: Callable[[], int] | None = None,
        *,
        short_read_is_eof: bool = False,
    ) -> None:
        self._head_raw = head_raw
        self._head_done = head_done
        self._read_more = read_more
        self._read_rest = read_rest
        self._size_hint = size_hint
        self._short_read_is_eof = short_read_is_eof
        self._full: bytes | None = None
        self._header: HeaderBlock | None = None
        self._tree: Part | None = None
        self._envelope: Envelope | None = None
        self._bodystructure: BodyStructure | None = None

    # -- construction ---------------------------------------------------

    @classmethod
    def from_bytes(cls, data: bytes) -> Message:
        """A message held in memory (LF or CRLF line ends)."""
        msg = cls(b"", True, None, None)
        msg._full = to_crlf(data)
        return msg

    @classmethod
    def from_file(cls, fileobj: BinaryIO) -> Message:
        """A message read from an open binary file, header first.

        The file must stay open until the message's body has been asked for.
        """

        def rest(have: bytes) -> bytes:
            return have + fileobj.read()

        return cls(b"", False, fileobj.read, rest)

    @classmethod
    def from_path(cls, path: str | os.PathLike[str]) -> Message:
        """A message file; only its header is read until more is asked for.

        A file that cannot be read is treated as an empty message (the store
        reports missing or damaged files itself, with the user and path).
        """

        pos = [0]

        def more(n: int) -> bytes:
            try:
                with open(path, "rb") as f:
                    f.seek(pos[0])
                    data = f.read(n)
            except OSError:
                return b""
            pos[0] += len(data)
            return data

        def rest(have: bytes) -> bytes:
            # Read only what follows the header bytes already in hand.
            try:
                with open(path, "rb") as f:
                    f.seek(len(have))
                    return have + f.read()
            except OSError:
                return have

        def size() -> int:
            try:
                with open(path, "rb") as f:
                    total = 0
                    carry = b""
                    while chunk := f.read(_STREAM_BYTES):
                        data = carry + chunk
                        carry = data[-1:] if data.endswith(b"\r") else b""
                        body = data[: len(data) - len(carry)]
                        total += len(body) + bare_lf_count(body)
                    return total + len(carry)
            except OSError:
                return 0

        # A short read of a regular file means end of file: a small message is
        # then read once, header and body together.
        return cls(b"", False, more, rest, size, short_read_is_eof=True)

    # -- loading --------------------------------------------------------

    def _head(self) -> bytes:
        """Raw bytes that contain the whole header (and maybe some body)."""
        while not self._head_done:
            assert self._read_more is not None
            # Grow the reads so a huge header costs few reads, not thousands.
            want = max(_READ_BYTES, len(self._head_raw))
            chunk = self._read_more(want)
            if not chunk or (self._short_read_is_eof and len(chunk) < want):
                self._head_raw += chunk
                self._head_done = True
                self._read_more = None  # at end of file: the raw bytes are the message
                self._read_rest = None
                break
            self._head_raw += chunk
            # Searched again from the start: a blank line split across reads is found.
            if _raw_header_end(self._head_raw) >= 0:
                self._head_done = True
        return self._head_raw

    def _data(self) -> bytes:
        if self._full is None:
            head = self._head()
            raw = self._read_rest(head) if self._read_rest is not None else head
            self._read_rest = None
            self._read_more = None
            self._full = to_crlf(raw)
            self._head_raw = b""  # the full buffer replaces it
        return self._full

    def _root(self) -> Part:
        if self._tree is None:
            self._tree = parse_tree(self._data())
        return self._tree

    def _hdr(self) -> HeaderBlock:
        if self._header is None:
            if self._tree is not None:
                self._header = self._tree.header
            elif self._full is not None:
                # The same rule as the MIME walker's for the top entity, without the walk.
                full = self._full
                if full.startswith(b"\r\n"):
                    end = 2
                else:
                    blank = full.find(b"\r\n\r\n")
                    end = len(full) if blank < 0 else blank + 4
                self._header = HeaderBlock(full[:end])
            else:
                head = self._head()
                end = _raw_header_end(head)
                self._header = HeaderBlock(to_crlf(head if end < 0 else head[:end]))
        return self._header

    # -- sizes and whole pieces ----------------------------------------

    def rfc822_size(self) -> int:
        """Size with CRLF line ends (IMAP RFC822.SIZE, POP3 LIST)."""
        if self._full is None and self._head_done and self._read_rest is None:
            return crlf_size(self._head_raw)  # the whole message is in hand
        if self._full is None and self._size_hint is not None:
            return self._size_hint()
        return len(self._data())

    def header_bytes(self) -> bytes:
        """The header in CRLF form, with the blank line that ends it (if the mail has one)."""
        return self._hdr().data

    def text_bytes(self) -> bytes:
        """The body (RFC822.TEXT, BODY[TEXT]) in CRLF form."""
        root = self._root()
        return root.body()

    def top(self, lines: int) -> bytes:
        """The header, its blank line and the first ``lines`` body lines (POP3 TOP, RFC 1939).

        CRLF form, not byte-stuffed (that is POP3's wire job).
        """
        body = self.text_bytes()
        end = 0
        for _ in range(max(lines, 0)):
            nl = body.find(b"\n", end)
            if nl < 0:
                end = len(body)
                break
            end = nl + 1
        return self.header_bytes() + body[:end]

    def full_bytes(self) -> bytes:
        """The whole message in CRLF form."""
        return self._data()

    # -- header values --------------------------------------------------

    def header_names(self) -> list[str]:
        """Field names in header order, duplicates kept."""
        return self._hdr().names()

    def raw_header_values(self, name: str) -> list[str]:
        """Values of every ``name`` field, unfolded but not RFC 2047-decoded.

        Leading and trailing white space is stripped; 8-bit bytes are kept
        via ``surrogateescape``.
        """
        return [decode_raw(unfold(v)).strip(" \t") for v in self._hdr().raw_values(name)]

    def header_values(self, name: str) -> list[str]:
        """Values of every ``name`` field, unfolded and RFC 2047-decoded (for SEARCH, Sieve)."""
        return [decode_2047(unfold(v)).strip(" \t") for v in self._hdr().raw_values(name)]

    # -- structures -----------------------------------------------------

    def envelope(self) -> Envelope:
        """ENVELOPE data; reads only the header."""
        if self._envelope is None:
            self._envelope = build_envelope(self._hdr())
        return self._envelope

    def bodystructure(self) -> BodyStructure:
        """BODYSTRUCTURE data (BODY is the same without extension data)."""
        if self._bodystructure is None:
            self._bodystructure = build_bodystructure(self._root())
        return self._bodystructure

    # -- sections -------------------------------------------------------

    def _find(self, path: tuple[int, ...]) -> Part | None:
        node: Part | None = None
        # The entity whose parts the next number selects: the message itself
        # first, then a multipart, or the message inside a message/rfc822 part.
        step_into: Part | None = self._root()
        for n in path:
            if step_into is None or n < 1:
                return None
            if step_into.is_multipart:
                if n > len(step_into.children):
                    return None
                node = step_into.children[n - 1]
            elif n == 1:
                node = step_into  # part 1 of a non-multipart message is its body
            else:
                return None
            if node.is_multipart and node is not step_into:
                step_into = node
            elif node.message is not None:
                step_into = node.message
            else:
                step_into = None  # a leaf part has no numbered parts
        return node

    def section(
        self, part: tuple[int, ...], kind: str | None = None, fields: tuple[str, ...] = ()
    ) -> bytes | None:
        """Bytes of an RFC 3501 body section, CRLF form; None when it does not exist.

        Args:
            part: the part number path, ``()`` for the whole message.
            kind: None (the whole part), "HEADER", "HEADER.FIELDS",
                "HEADER.FIELDS.NOT", "TEXT" or "MIME" (case-insensitive).
            fields: the field names for HEADER.FIELDS(.NOT).
        """
        k = kind.upper() if kind else None
        if k is not None and k not in SECTION_KINDS:
            return None
        if not part:
            if k is None:
                return self.full_bytes()
            if k == "MIME":
                return None
            if k == "TEXT":
                return self.text_bytes()
            return self._header_section(self._hdr(), k, fields)
        node = self._find(part)
        if node is None:
            return None
        if k is None:
            return node.body()
        if k == "MIME":
            return node.mime_header()
        if node.message is None:
            return None  # HEADER/TEXT exist only for message/rfc822 parts
        inner = node.message
        if k == "TEXT":
            return inner.body()
        return self._header_section(inner.header, k, fields)

    @staticmethod
    def _header_section(header: HeaderBlock, kind: str, fields: tuple[str, ...]) -> bytes:
        if kind == "HEADER":
            return header.data
        return header.select(fields, exclude=kind == "HEADER.FIELDS.NOT")

    # -- text -------------------------------------------------------------

    def text_parts(self) -> Iterator[str]:
        """Decoded text of each text/* part (transfer encoding and charset undone)."""
        return decoded_text_parts(self._root())
