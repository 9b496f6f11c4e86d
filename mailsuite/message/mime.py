"""A light MIME walker: offsets into the CRLF form of a message, no copies.

It finds each part's header and body by offset (RFC 2046 section 5.1.1
delimiters, section 5.2.1 message/rfc822 nesting) without building
``email.message`` objects, so BODYSTRUCTURE for a large mailbox stays cheap.

The walk is one pass over the delimiter lines, in order, the way Dovecot's
parser reads a stream, and it draws part edges exactly where Dovecot does:

* a line that starts with "--" and a boundary is a delimiter line, whatever
  follows (RFC 2046 allows only white space there; Dovecot accepts any);
* a delimiter line is checked against the open multiparts innermost first,
  so a nested multipart that reuses its parent's boundary still parses
  (real mail from some clients does this);
* a delimiter line of an enclosing multipart ends every part inside it;
* the CRLF before a delimiter belongs to the delimiter (RFC 2046 5.1.1),
  unless it is already the line end of the previous delimiter line (a nested
  close delimiter directly before the parent's delimiter keeps its CRLF);
* a part without a blank line before the next delimiter is all header and
  has an empty body (the CRLF before that delimiter is not in its header);
* a multipart whose boundary is missing or never appears gets no children
  (BODYSTRUCTURE then shows one empty text/plain part);
* a missing close delimiter ends the last part where its parent ends;
* a multipart or message/rfc822 nested deeper than :data:`MAX_MIME_DEPTH`,
  or past :data:`MAX_MIME_PARTS` parts, is not opened: it becomes an opaque
  application/octet-stream body, as in Dovecot.
"""

from __future__ import annotations

from mailsuite.limits import MESSAGE_MAX_MIME_DEPTH, MESSAGE_MAX_MIME_PARTS
from mailsuite.message.headers import HeaderBlock, decode_raw
from mailsuite.message.params import Pairs, parse_content_type

__all__ = ["MAX_MIME_DEPTH", "MAX_MIME_PARTS", "Part", "parse_tree"]

MAX_MIME_DEPTH = MESSAGE_MAX_MIME_DEPTH
MAX_MIME_PARTS = MESSAGE_MAX_MIME_PARTS


class Part:
    """One entity: the message itself, a body part, or an encapsulated message.

    ``start``..``body_start`` is the header (with its blank line when there
    is one) and ``body_start``..``end`` the body, as offsets into the CRLF
    message buffer shared by the whole tree.
    """

    __slots__ = (
        "buf",
        "start",
        "body_start",
        "end",
        "_header",
        "type",
        "subtype",
        "params",
        "children",
        "message",
    )

    def __init__(self, buf: bytes, start: int, body_start: int, end: int) -> None:
        self.buf = buf
        self.start = start
        self.body_start = body_start
        self.end = end
        self._header: HeaderBlock | None = None
        self.type = "text"
        self.subtype = "plain"
        self.params: Pairs = []
        self.children: list[Part] = []
        self.message: Part | None = None

    @property
    def header(self) -> HeaderBlock:
        """This entity's header fields."""
        if self._header is None:
            self._header = HeaderBlock(self.buf[self.start : self.body_start])
        return self._header

    @property
    def is_multipart(self) -> bool:
        return self.type.lower() == "multipart"

    def body(self) -> bytes:
        return self.buf[self.body_start : self.end]

    def mime_header(self) -> bytes:
        return self.buf[self.start : self.body_start]


class _Delim:
    """A delimiter line: where it starts and ends (after its CRLF), whose it is."""

    __slots__ = ("start", "end", "level", "close")

    def __init__(self, start: int, end: int, level: int, close: bool) -> None:
        self.start = start
        self.end = end
        self.level = level  # index into the boundary stack
        self.close = close


class _Walker:
    __slots__ = ("buf", "count", "last_delim_end", "found")

    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.count = 0
        self.last_delim_end = -1
        self.found: dict[bytes, tuple[int, int, int, bool]] = {}

    def next_delim(self, pos: int, bounds: list[bytes], stop: int = -1) -> _Delim | None:
        """The next line at or after ``pos`` (starting before ``stop``) that is a delimiter."""
        best: _Delim | None = None
        for level in range(len(bounds) - 1, -1, -1):  # innermost first wins a tie
            ls, le, close = self._find(bounds[level], pos)
            if ls >= 0 and (best is None or ls < best.start):
                best = _Delim(ls, le, level, close)
        if best is None or (stop >= 0 and best.start >= stop):
            return None
        return best

    def _find(self, boundary: bytes, pos: int) -> tuple[int, int, bool]:
        """Next delimiter line of ``boundary`` starting at or after ``pos``: (start, end, close).

        Searching for the whole ``LF--boundary`` needle lets ``bytes.find`` skip
        through large attachments; answers are cached because the walk asks
        again from later positions.
        """
        cached = self.found.get(boundary)
        if cached is not None and cached[0] <= pos and (cached[1] < 0 or cached[1] >= pos):
            return cached[1], cached[2], cached[3]
        buf = self.buf
        needle = b"\n--" + boundary
        i = buf.find(needle, max(pos - 1, 0))
        result = (-1, -1, False)
        if i >= 0:
            ls = i + 1
            le = buf.find(b"\r\n", ls)
            line_end = len(buf) if le < 0 else le + 2
            rest = buf[ls + len(needle) - 1 : len(buf) if le < 0 else le]
            # RFC 2046 5.1.1 allows only white space after the boundary; like
            # Dovecot we accept any line that starts with it, so mail with junk
            # after a delimiter splits the same way in both servers.
            # A delimiter cut off by the end of the message (no line end) starts
            # no new part, as in Dovecot: it acts as the close delimiter.
            result = (ls, line_end, rest.startswith(b"--") or le < 0)
        self.found[boundary] = (pos, *result)
        return result

    def parse(
        self, start: int, bounds: list[bytes], depth: int, digest: bool
    ) -> tuple[Part, _Delim | None]:
        """Parse the entity at ``start``; return it and the delimiter that ended it."""
        buf = self.buf
        self.count += 1
        if buf.startswith(b"\r\n", start):
            hdr_stop, body_start = start, start + 2  # no fields, only the blank line
        else:
            blank = buf.find(b"\r\n\r\n", start)
            if blank < 0:
                hdr_stop = body_start = len(buf)
            else:
                hdr_stop, body_start = blank + 2, blank + 4
        # Only a delimiter before the blank line can cut the header short; the
        # search stops there, so deep nesting does not rescan the rest.
        nxt = self.next_delim(start, bounds, hdr_stop)
        if nxt is not None:
            end = nxt.start
            if end != self.last_delim_end and end - 2 >= start and buf[end - 2 : end] == b"\r\n":
                # The CRLF before the delimiter leaves this header (RFC 2046 5.1.1)
                # but, as in Dovecot, stays in the enclosing parts' bodies.
                end -= 2
                self.last_delim_end = nxt.start
            return Part(buf, start, end, end), nxt  # all header, no body
        part = Part(buf, start, body_start, len(buf))
        raw_ct = part.header.first("content-type")
        ct = parse_content_type(decode_raw(raw_ct)) if raw_ct is not None else None
        if ct is not None:
            part.type, part.subtype, part.params = ct
        elif digest and raw_ct is None:
            # RFC 2046 section 5.1.5: in a digest the default is message/rfc822
            # (an invalid Content-Type still means text/plain, RFC 2045 5.2).
            part.type, part.subtype = "message", "rfc822"
        mtype = part.type.lower()
        container = mtype == "multipart" or (
            mtype == "message" and part.subtype.lower() == "rfc822"
        )
        if container and (depth + 1 >= MAX_MIME_DEPTH or self.count >= MAX_MIME_PARTS):
            part.type, part.subtype = "application", "octet-stream"
            nxt = self.next_delim(part.body_start, bounds)
        elif mtype == "multipart":
            nxt = self._multipart(part, bounds, depth)
        elif container:
            inner, nxt = self.parse(part.body_start, bounds, depth + 1, False)
            part.message = inner
        else:
            nxt = self.next_delim(part.body_start, bounds)
        # A message/rfc822 part ends on its own: when its message is all header,
        # that header gives up the CRLF before the delimiter but the part keeps
        # it (Dovecot's sizes, so BODY[n] is then 2 bytes longer than HEADER).
        self._finish(part, nxt)
        return part, nxt

    def _multipart(self, part: Part, bounds: list[bytes], depth: int) -> _Delim | None:
        boundary = next((v for k, v in part.params if k.lower() == "boundary"), None)
        if boundary is None:
            # An empty boundary (invalid, RFC 2046 5.1.1) is kept as Dovecot keeps
            # it: every line starting with "--" is then a delimiter.
            return self.next_delim(part.body_start, bounds)
        own = len(bounds)
        inner_bounds = [*bounds, boundary.encode("utf-8", "surrogateescape")]
        digest = part.subtype.lower() == "digest"
        d = self.next_delim(part.body_start, inner_bounds)  # skips the preamble
        while d is not None and d.level == own:
            self.last_delim_end = d.end
            if d.close:
                # The epilogue runs to the next delimiter of an enclosing multipart.
                return self.next_delim(d.end, bounds)
            if self.count >= MAX_MIME_PARTS:
                return self.next_delim(d.end, bounds)
            child, d = self.parse(d.end, inner_bounds, depth + 1, digest)
            part.children.append(child)
        return d  # an enclosing delimiter, or the end of the message (truncated)

    def _finish(self, part: Part, nxt: _Delim | None) -> None:
        buf = self.buf
        end = len(buf) if nxt is None else nxt.start
        if nxt is not None and end != self.last_delim_end and buf[end - 2 : end] == b"\r\n":
            if end - 2 >= part.body_start:
                end -= 2  # RFC 2046 5.1.1: this CRLF is the delimiter's
            elif end == part.body_start and end - 2 >= part.start:
                # Empty body right before a delimiter: the blank line's CRLF is
                # the delimiter's, so the header ends without it (as Dovecot).
                end -= 2
                part.body_start = end
                part._header = None
                self.last_delim_end = nxt.start
        part.end = end


def parse_tree(buf: bytes) -> Part:
    """Walk a whole message in CRLF form and return its root entity."""
    return _Walker(buf).parse(0, [], 0, False)[0]
