"""Bare LF to CRLF for buffers and for streams split anywhere."""

from __future__ import annotations

import pytest

from mailsuite.util.crlf import CrlfStream, lf_to_crlf

CASES = [
    (b"", b""),
    (b"a\nb\n", b"a\r\nb\r\n"),
    (b"a\r\nb\r\n", b"a\r\nb\r\n"),
    (b"a\r\nb\nc", b"a\r\nb\r\nc"),
    (b"lone\rcr\n", b"lone\rcr\r\n"),
    (b"\r", b"\r"),
    (b"\x00\n", b"\x00\r\n"),  # NUL is the caller's business
]


@pytest.mark.parametrize(("data", "expected"), CASES)
def test_lf_to_crlf(data: bytes, expected: bytes) -> None:
    """Bare LFs gain a CR; CRLF, lone CR and other bytes are kept."""
    assert lf_to_crlf(data) == expected


def test_already_crlf_is_returned_unchanged() -> None:
    """Text already in CRLF form is handed back as the same object (no copy)."""
    data = b"x\r\ny\r\n"
    assert lf_to_crlf(data) is data


@pytest.mark.parametrize(("data", "expected"), CASES + [(b"a\r\r\nb\r", b"a\r\r\nb\r")])
def test_stream_any_split_matches_whole(data: bytes, expected: bytes) -> None:
    """Feeding the input one byte at a time gives the same bytes as converting it whole."""
    stream = CrlfStream()
    out = b"".join(stream.feed(data[i : i + 1]) for i in range(len(data))) + stream.finish()
    assert out == expected


def test_split_crlf_stays_one_crlf() -> None:
    """A CR ending one piece and the LF starting the next stay one CRLF, not CR CR LF."""
    stream = CrlfStream()
    assert stream.feed(b"a\r") == b"a"
    assert stream.feed(b"\nb") == b"\r\nb"
    assert stream.finish() == b""
