"""Line-end normalisation: every byte a client sees uses CRLF.

Maildir files may be stored with bare LF (the Maildir convention) or with
CRLF (what Dovecot and IMAP APPEND produce). IMAP (RFC 3501 section 2.3.4:
RFC822.SIZE is "the number of octets in the message ... expressed in RFC 2822
format") and POP3 count and send CRLF lines, so every size and byte returned
by :mod:`mailsuite.message` is in CRLF form.

Choices for odd input, both Dovecot's: a bare LF becomes CRLF; a lone CR
(not followed by LF) is left as it is, so a message that is already CRLF is
never changed and sizes stay stable whatever the storage form. A NUL byte
becomes 0x80, because IMAP literals cannot carry NUL (RFC 3501 section 4.3,
CHAR8); the size does not change.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from mailsuite.util.crlf import CrlfStream, lf_to_crlf

__all__ = ["crlf_chunks", "crlf_size", "to_crlf", "bare_lf_count"]

DEFAULT_CHUNK_BYTES = 65536


def to_crlf(data: bytes) -> bytes:
    """Return ``data`` with every bare LF turned into CRLF (lone CRs kept, NUL -> 0x80).

    Args:
        data: message bytes with LF or CRLF (or mixed) line ends.

    Returns:
        The same bytes with CRLF line ends; ``data`` itself when already CRLF.
    """
    if b"\x00" in data:
        data = data.replace(b"\x00", b"\x80")
    return lf_to_crlf(data)


def bare_lf_count(data: bytes) -> int:
    """Number of LFs in ``data`` not preceded by CR (what CRLF form adds)."""
    return data.count(b"\n") - data.count(b"\r\n")


def crlf_size(data: bytes) -> int:
    """Length ``data`` has in CRLF form, without building that form."""
    return len(data) + bare_lf_count(data)


def crlf_chunks(fileobj: BinaryIO, chunk_size: int = DEFAULT_CHUNK_BYTES) -> Iterator[bytes]:
    """Stream a file with its line ends normalised to CRLF.

    A CR at the end of one read is held back until the next read shows
    whether an LF follows, so a CRLF split across two reads stays one CRLF.

    Args:
        fileobj: a binary file positioned where streaming should start.
        chunk_size: bytes per read (each yielded chunk may be slightly longer).

    Yields:
        Non-empty chunks whose concatenation is the CRLF form of the rest of the file.
    """
    stream = CrlfStream()
    while True:
        chunk = fileobj.read(chunk_size)
        if not chunk:
            break
        out = stream.feed(chunk.replace(b"\x00", b"\x80") if b"\x00" in chunk else chunk)
        if out:
            yield out
    tail = stream.finish()
    if tail:
        yield tail
