"""Lazy messages, sizes and RFC 3501 sections: mailsuite.message.message."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from mailsuite.message import Message

NESTED = (
    b"Subject: top\n"
    b"Content-Type: multipart/mixed; boundary=b1\n"
    b"\n"
    b"preamble\n"
    b"--b1\n"
    b"Content-Type: text/plain\n"
    b"\n"
    b"part one\n"
    b"--b1\n"
    b"Content-Type: message/rfc822\n"
    b"\n"
    b"Subject: inner\n"
    b"X-A: 1\n"
    b"Content-Type: multipart/alternative; boundary=b2\n"
    b"\n"
    b"--b2\n"
    b"\n"
    b"plain\n"
    b"--b2\n"
    b"Content-Type: text/html\n"
    b"\n"
    b"<b>x</b>\n"
    b"--b2--\n"
    b"--b1\n"
    b"Content-Type: message/rfc822\n"
    b"\n"
    b"Subject: simple\n"
    b"\n"
    b"simple body\n"
    b"--b1--\n"
    b"epilogue\n"
)

INNER = (
    b"Subject: inner\r\nX-A: 1\r\nContent-Type: multipart/alternative; boundary=b2\r\n\r\n"
    b"--b2\r\n\r\nplain\r\n--b2\r\nContent-Type: text/html\r\n\r\n<b>x</b>\r\n--b2--\r\n"
)

SECTIONS = [
    ((), None, (), NESTED.replace(b"\n", b"\r\n")),
    ((), "HEADER", (), b"Subject: top\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n"),
    ((), "HEADER.FIELDS", ("subject",), b"Subject: top\r\n\r\n"),
    ((), "header.fields.not", ("subject",), b"Content-Type: multipart/mixed; boundary=b1\r\n\r\n"),
    ((), "MIME", (), None),
    ((1,), None, (), b"part one"),
    ((1,), "MIME", (), b"Content-Type: text/plain\r\n\r\n"),
    ((1,), "HEADER", (), None),
    ((1,), "TEXT", (), None),
    ((1, 1), None, (), None),
    ((2,), None, (), INNER),
    ((2,), "MIME", (), b"Content-Type: message/rfc822\r\n\r\n"),
    ((2,), "HEADER", (), INNER.split(b"\r\n\r\n")[0] + b"\r\n\r\n"),
    ((2,), "HEADER.FIELDS", ("X-A", "Subject"), b"Subject: inner\r\nX-A: 1\r\n\r\n"),
    ((2,), "TEXT", (), INNER.split(b"\r\n\r\n", 1)[1]),
    ((2, 1), None, (), b"plain"),
    ((2, 1), "MIME", (), b"\r\n"),
    ((2, 2), None, (), b"<b>x</b>"),
    ((2, 2), "MIME", (), b"Content-Type: text/html\r\n\r\n"),
    ((2, 3), None, (), None),
    ((3,), None, (), b"Subject: simple\r\n\r\nsimple body"),
    ((3, 1), None, (), b"simple body"),  # part 1 of a non-multipart message is its body
    ((3, 1), "MIME", (), b"Subject: simple\r\n\r\n"),
    ((3, 2), None, (), None),
    ((4,), None, (), None),
    ((0,), None, (), None),
    ((1,), "BOGUS", (), None),
]


@pytest.mark.parametrize(("part", "kind", "fields", "want"), SECTIONS)
def test_sections(
    part: tuple[int, ...], kind: str | None, fields: tuple[str, ...], want: bytes | None
) -> None:
    """BODY[section] numbers parts as RFC 3501 6.4.5 does, message/rfc822 too; absent is None."""
    assert Message.from_bytes(NESTED).section(part, kind, fields) == want


@pytest.mark.parametrize(
    ("raw", "part", "kind", "want"),
    [
        (b"Subject: x\n\nbody\n", (1,), None, b"body\r\n"),
        (b"Subject: x\n\nbody\n", (1,), "MIME", b"Subject: x\r\n\r\n"),
        (b"Subject: x\n\nbody\n", (1, 1), None, None),
        (b"Subject: x\n\nbody\n", (), "TEXT", b"body\r\n"),
        (b"Subject: x\n\nbody\n", (2,), None, None),
    ],
)
def test_single_part_sections(
    raw: bytes, part: tuple[int, ...], kind: str | None, want: bytes | None
) -> None:
    """Part 1 of a non-multipart message is its body, with the message header as its MIME header."""
    assert Message.from_bytes(raw).section(part, kind) == want


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\n",
        b"\nbody only\n",
        b"Subject: no body",
        b"Subject: no body\n",
        b"A: b\r\n\r\nmixed\nends\r\nlone\rcr",
        NESTED,
    ],
)
def test_sizes_add_up(raw: bytes) -> None:
    """RFC822.SIZE is the CRLF length, and HEADER + TEXT is the whole message."""
    msg = Message.from_bytes(raw)
    full = msg.full_bytes()
    assert msg.rfc822_size() == len(full)
    assert msg.header_bytes() + msg.text_bytes() == full
    assert b"\n" not in full.replace(b"\r\n", b"")


def test_header_values() -> None:
    """Header values are unfolded and RFC 2047-decoded; raw values keep encoded words."""
    msg = Message.from_bytes(
        b"Subject: =?utf-8?q?caf=C3=A9?=\n  au lait\nX-Multi: 1\nx-multi: 2\nbad line\n\nbody\n"
    )
    assert msg.header_values("SUBJECT") == ["caf\u00e9  au lait"]
    assert msg.raw_header_values("subject") == ["=?utf-8?q?caf=C3=A9?=  au lait"]
    assert msg.header_values("x-multi") == ["1", "2"]
    assert msg.header_values("missing") == []
    assert msg.header_names() == ["Subject", "X-Multi", "x-multi"]


class CountingFile(io.RawIOBase):
    """A real file that remembers how many bytes were read from it."""

    def __init__(self, path: Path) -> None:
        self._f = open(path, "rb")  # noqa: SIM115
        self.bytes_read = 0

    def read(self, n: int = -1) -> bytes:
        data = self._f.read(n)
        self.bytes_read += len(data)
        return data

    def close(self) -> None:
        self._f.close()
        super().close()


@pytest.fixture
def big_message(tmp_path: Path) -> Path:
    path = tmp_path / "big"
    header = b"Subject: big\nFrom: a@b\nTo: c@d\n\n"
    path.write_bytes(header + (b"x" * 75 + b"\n") * 200_000)  # about 15 MB of body
    return path


def test_header_only_requests_read_only_the_header(big_message: Path) -> None:
    """Header values, HEADER sections and ENVELOPE read the header, not the 15 MB body."""
    f = CountingFile(big_message)
    try:
        msg = Message.from_file(f)
        assert msg.header_values("subject") == ["big"]
        assert msg.section((), "HEADER.FIELDS", ("to",)) == b"To: c@d\r\n\r\n"
        assert msg.envelope().subject == "big"
        assert f.bytes_read < 64 * 1024
        assert len(msg.text_bytes()) == 200_000 * 77
        assert f.bytes_read == big_message.stat().st_size
    finally:
        f.close()


def _rchar() -> int:
    with open("/proc/self/io") as f:
        return int(next(line for line in f if line.startswith("rchar")).split()[1])


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="needs Linux /proc/self/io")
def test_from_path_reads_only_the_header(big_message: Path) -> None:
    """Message.from_path reads a few kilobytes for header work and the file once for more."""
    before = _rchar()
    msg = Message.from_path(str(big_message))
    assert msg.envelope().to == (msg.envelope().to or ())
    assert msg.header_bytes() == b"Subject: big\r\nFrom: a@b\r\nTo: c@d\r\n\r\n"
    assert _rchar() - before < 256 * 1024
    assert msg.rfc822_size() == big_message.stat().st_size + 200_000 + 4
    assert msg.bodystructure().lines == 200_000


def test_from_path_and_from_bytes_agree(tmp_path: Path) -> None:
    """A message read from a file, a file object or memory, LF or CRLF, parses the same."""
    crlf = NESTED.replace(b"\n", b"\r\n")
    (tmp_path / "lf").write_bytes(NESTED)
    (tmp_path / "crlf").write_bytes(crlf)
    msgs = [
        Message.from_bytes(NESTED),
        Message.from_bytes(crlf),
        Message.from_path(str(tmp_path / "lf")),
        Message.from_path(str(tmp_path / "crlf")),
        Message.from_file(io.BytesIO(NESTED)),
    ]
    for m in msgs:
        assert m.full_bytes() == crlf
        assert m.bodystructure() == msgs[0].bodystructure()
        assert m.envelope() == msgs[0].envelope()
        assert m.section((2, 2)) == b"<b>x</b>"


def test_missing_file_is_an_empty_message(tmp_path: Path) -> None:
    """A file that vanished reads as an empty message instead of raising."""
    msg = Message.from_path(str(tmp_path / "gone"))
    assert msg.rfc822_size() == 0
    assert msg.full_bytes() == b""
    assert msg.bodystructure().type == "text"


def test_header_split_across_reads(tmp_path: Path) -> None:
    """A blank line that falls across the 8 KiB read boundary still ends the header."""
    for pad in range(8180, 8200):
        raw = b"X: " + b"a" * (pad - 4) + b"\n\nbody\n"
        path = tmp_path / f"m{pad}"
        path.write_bytes(raw)
        msg = Message.from_path(str(path))
        assert msg.header_bytes() == raw[: pad + 1].replace(b"\n", b"\r\n")
        assert msg.text_bytes() == b"body\r\n"


def test_streamed_size_with_crlf_across_reads(tmp_path: Path) -> None:
    """The streamed RFC822.SIZE counts a CRLF split across 64 KiB reads once."""
    for offset in (65534, 65535, 65536):
        raw = b"A: b\n\n" + b"x" * (offset - 6) + b"\r\n" + b"y\n" * 10 + b"\rz"
        path = tmp_path / f"m{offset}"
        path.write_bytes(raw)
        assert Message.from_path(str(path)).rfc822_size() == len(
            Message.from_bytes(raw).full_bytes()
        )


@pytest.mark.parametrize(
    ("lines", "want"),
    [
        (0, b"A: b\r\n\r\n"),
        (1, b"A: b\r\n\r\none\r\n"),
        (2, b"A: b\r\n\r\none\r\ntwo\r\n"),
        (5, b"A: b\r\n\r\none\r\ntwo\r\nthree"),
        (-1, b"A: b\r\n\r\n"),
    ],
)
def test_top(lines: int, want: bytes) -> None:
    """POP3 TOP gives the header, the blank line and at most n body lines (RFC 1939)."""
    assert Message.from_bytes(b"A: b\n\none\ntwo\nthree").top(lines) == want
