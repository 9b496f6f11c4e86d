"""POP3 wire layer: line framing, reply encoding and the RETR/TOP body transform."""

from __future__ import annotations

import pytest

from mailsuite.protocols.pop3.wire import (
    Continue,
    LineBuffer,
    LineTooLong,
    MessageEncoder,
    MultiLine,
    Status,
    decode_base64,
)


def feed_bytewise(buf: LineBuffer, data: bytes) -> list[bytes | LineTooLong]:
    out: list[bytes | LineTooLong] = []
    for i in range(len(data)):
        out.extend(buf.feed(data[i : i + 1]))
    return out


def encode(message: bytes, top: int | None = None, chunk: int = 0) -> bytes:
    enc = MessageEncoder(top)
    if chunk <= 0:
        return enc.feed(message) + enc.finish()
    out = b""
    for i in range(0, len(message), chunk):
        if enc.complete:
            break
        out += enc.feed(message[i : i + chunk])
    return out + enc.finish()


def test_lines_split_on_crlf_and_bare_lf() -> None:
    """CRLF and bare LF both end a line, and the line ending is removed."""
    buf = LineBuffer(100)
    assert buf.feed(b"USER a\r\nPASS b\nNOOP") == [b"USER a", b"PASS b"]
    assert buf.feed(b"\r\n") == [b"NOOP"]


def test_lines_fed_one_byte_at_a_time() -> None:
    """Feeding one byte at a time gives the same lines as feeding everything at once."""
    data = b"CAPA\r\nLIST 1\r\n\r\nQUIT\r\n"
    assert feed_bytewise(LineBuffer(100), data) == LineBuffer(100).feed(data)
    assert LineBuffer(100).feed(data) == [b"CAPA", b"LIST 1", b"", b"QUIT"]


def test_overlong_line_reported_once_and_discarded() -> None:
    """A line over the limit yields one LineTooLong, and the next line is read normally."""
    buf = LineBuffer(10)
    events = feed_bytewise(buf, b"X" * 50 + b"\r\nNOOP\r\n")
    assert events == [LineTooLong(10), b"NOOP"]


def test_overlong_line_in_one_chunk() -> None:
    """An over-long complete line in a single chunk is reported, not returned."""
    assert LineBuffer(4).feed(b"123456\r\nOK\r\n") == [LineTooLong(4), b"OK"]


def test_line_at_limit_is_accepted() -> None:
    """A line of exactly the limit, CRLF split across chunks, is accepted."""
    buf = LineBuffer(4)
    assert buf.feed(b"1234\r") == []
    assert buf.feed(b"\n") == [b"1234"]


def test_buffer_does_not_grow_without_a_line_end() -> None:
    """Endless input without LF keeps memory bounded by the limit."""
    buf = LineBuffer(16)
    for _ in range(100):
        buf.feed(b"A" * 100)
    assert buf.pending_bytes <= 17


def test_clear_forgets_pipelined_input() -> None:
    """clear() drops buffered partial input (used at STLS)."""
    buf = LineBuffer(100)
    buf.feed(b"USER injected")
    buf.clear()
    assert buf.feed(b"\r\n") == [b""]


def test_status_lines() -> None:
    """Status replies carry the RFC 2449 response code in brackets after -ERR."""
    assert Status(True, "Logged in.").encode() == b"+OK Logged in.\r\n"
    assert Status(False, "locked", "IN-USE").encode() == b"-ERR [IN-USE] locked\r\n"
    assert Status(True).encode() == b"+OK\r\n"


def test_status_text_cannot_inject_lines() -> None:
    """A CR or LF inside a reply text never splits the reply."""
    assert Status(False, "a\r\nb").encode() == b"-ERR a  b\r\n"


def test_multiline_is_dot_stuffed_and_terminated() -> None:
    """Multi-line replies byte-stuff lines starting with '.' and end with '.CRLF'."""
    reply = MultiLine(Status(True, "list"), (b"1 20", b".odd"))
    assert reply.encode() == b"+OK list\r\n1 20\r\n..odd\r\n.\r\n"


def test_continue_is_base64() -> None:
    """A SASL challenge is '+ ' and base64, an empty one is '+ '."""
    assert Continue(b"hi").encode() == b"+ aGk=\r\n"
    assert Continue().encode() == b"+ \r\n"


def test_decode_base64_is_strict() -> None:
    """Invalid base64 gives None rather than garbage."""
    assert decode_base64(b"aGk=") == b"hi"
    assert decode_base64(b"not base64!") is None
    assert decode_base64(b"") == b""


MESSAGES = [
    b"Subject: a\n\nbody\n",
    b"Subject: a\r\n\r\nbody\r\n",
    b"Subject: a\r\n\r\n.dot\n..two\r\n.\nend",
    b".starts with dot\n\n.\n",
    b"A: b\r\rc\n\nlone CR\r",
    b"",
    b"\n",
    b"no header\nat all",
]


@pytest.mark.parametrize("message", MESSAGES)
def test_retr_bytes_unstuff_to_crlf_message(message: bytes) -> None:
    """RETR output, un-stuffed and without the terminator, is the CRLF form of the message."""
    out = encode(message)
    assert out.endswith(b".\r\n")
    lines = out[:-3].split(b"\r\n")
    assert lines[-1] == b""
    unstuffed = b"\r\n".join(x[1:] if x.startswith(b".") else x for x in lines[:-1])
    crlf = message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if crlf and not crlf.endswith(b"\r\n"):
        assert unstuffed == crlf  # the framing CRLF was added after the last line
    else:
        assert unstuffed + b"\r\n" == crlf or (not crlf and unstuffed == b"")


@pytest.mark.parametrize("message", MESSAGES)
@pytest.mark.parametrize("chunk", [1, 2, 3, 7])
def test_chunking_never_changes_the_output(message: bytes, chunk: int) -> None:
    """Any chunking of the stored file gives byte-identical RETR and TOP output."""
    assert encode(message, chunk=chunk) == encode(message)
    for top in (0, 1, 2):
        assert encode(message, top, chunk=chunk) == encode(message, top)


def test_body_bytes_equal_crlf_size() -> None:
    """The byte count before stuffing equals the CRLF size LIST reports."""
    message = b"Subject: x\n\n.a\nb\r\nc"
    enc = MessageEncoder()
    enc.feed(message)
    enc.finish()
    assert enc.body_bytes == len(message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))


def test_dot_stuffing() -> None:
    """Every line starting with '.' gets one more '.', including the first line."""
    assert encode(b".a\n..b\nc.\n") == b"..a\r\n...b\r\nc.\r\n.\r\n"


def test_message_without_final_newline_gets_framing_crlf() -> None:
    """A message not ending in a line end is followed by CRLF before the terminator."""
    assert encode(b"Subject: x\n\nlast") == b"Subject: x\r\n\r\nlast\r\n.\r\n"


def test_top_zero_sends_header_and_blank_line() -> None:
    """TOP n 0 sends the header and the blank line only (RFC 1939 section 7)."""
    message = b"A: 1\nB: 2\n\nline1\nline2\n"
    assert encode(message, 0) == b"A: 1\r\nB: 2\r\n\r\n.\r\n"


def test_top_counts_body_lines() -> None:
    """TOP n k sends the first k body lines, stuffed."""
    message = b"A: 1\n\n.l1\nl2\nl3\n"
    assert encode(message, 2) == b"A: 1\r\n\r\n..l1\r\nl2\r\n.\r\n"
    assert encode(message, 99) == encode(message)


def test_top_stops_reading_early() -> None:
    """TOP marks the encoder complete once it has its lines, so the rest is not read."""
    enc = MessageEncoder(1)
    enc.feed(b"A: 1\n\nfirst\nsecond\n")
    assert enc.complete


def test_top_of_header_only_message() -> None:
    """TOP of a message without a body sends the whole header."""
    assert encode(b"A: 1\nB: 2", 5) == b"A: 1\r\nB: 2\r\n.\r\n"


def test_random_messages_and_chunkings() -> None:
    """Random bytes rich in CR, LF and dots encode the same under any chunking, and unstuff back."""
    import random

    rng = random.Random(1939)
    alphabet = b"\r\n.\r\n.ab"
    for _ in range(300):
        message = bytes(rng.choice(alphabet) for _ in range(rng.randrange(0, 60)))
        whole = encode(message)
        for chunk in (1, 2, 5):
            assert encode(message, chunk=chunk) == whole, message
        for top in (0, 1, 3):
            assert encode(message, top, chunk=3) == encode(message, top), (message, top)
        crlf = message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        body = whole[: -len(b".\r\n")]
        assert all(
            not line.startswith(b".") or line.startswith(b"..") for line in body.split(b"\r\n")[:-1]
        ), message
        unstuffed = b"\r\n".join(x[1:] if x.startswith(b".") else x for x in body.split(b"\r\n"))
        framed = crlf if crlf.endswith(b"\r\n") or not crlf else crlf + b"\r\n"
        assert unstuffed == framed, message
