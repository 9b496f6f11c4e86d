"""Line-end normalisation: mailsuite.message.crlf."""

from __future__ import annotations

import io

import pytest

from mailsuite.message.crlf import crlf_chunks, crlf_size, to_crlf

CASES = [
    (b"", b""),
    (b"a\nb\n", b"a\r\nb\r\n"),
    (b"a\r\nb\r\n", b"a\r\nb\r\n"),
    (b"a\r\nb\nc", b"a\r\nb\r\nc"),
    (b"lone\rcr\n", b"lone\rcr\r\n"),
    (b"\r\r\n", b"\r\r\n"),
    (b"\n\n", b"\r\n\r\n"),
    (b"end\r", b"end\r"),
    (b"nul\x00\n", b"nul\x80\r\n"),  # IMAP literals cannot carry NUL (RFC 3501 4.3)
]


@pytest.mark.parametrize(("raw", "want"), CASES)
def test_to_crlf(raw: bytes, want: bytes) -> None:
    """Bare LFs become CRLF, existing CRLFs and lone CRs are kept as they are."""
    assert to_crlf(raw) == want
    assert crlf_size(raw) == len(want)


def test_crlf_message_is_returned_unchanged() -> None:
    """A message already in CRLF form is returned as the same object (no copy)."""
    data = b"a\r\nb\r\n" * 100
    assert to_crlf(data) is data


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 65536])
@pytest.mark.parametrize(("raw", "want"), CASES)
def test_crlf_chunks_any_chunk_size(raw: bytes, want: bytes, chunk: int) -> None:
    """Streaming gives the same bytes whatever the read size, CRLFs split across reads included."""
    chunks = list(crlf_chunks(io.BytesIO(raw), chunk_size=chunk))
    assert b"".join(chunks) == want
    assert all(chunks)
