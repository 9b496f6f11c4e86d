"""RETR/TOP streaming from a real file: chunked reads, prefetch, closing."""

from __future__ import annotations

from pathlib import Path

from mailsuite.protocols.pop3.stream import MessageStream


def test_stream_reads_in_chunks_and_closes(tmp_path: Path) -> None:
    """A large file is read chunk by chunk, ends with the terminator, and is closed."""
    path = tmp_path / "msg"
    body = b"Subject: big\n\n" + b"".join(b".line %d\n" % i for i in range(20000))
    path.write_bytes(body)
    f = open(path, "rb")
    stream = MessageStream(f, None, chunk_bytes=4096)
    stream.prefetch()
    first = stream.take_prefetched()
    assert 0 < len(first) < 10000
    chunks = [first]
    while not stream.done:
        chunks.append(stream.next_chunk())
    assert len(chunks) > 10
    out = b"".join(chunks)
    assert out.endswith(b"..line 19999\r\n.\r\n")
    assert stream.body_bytes == len(body) + body.count(b"\n")
    assert f.closed


def test_top_stops_reading_the_file(tmp_path: Path) -> None:
    """TOP finishes without reading the rest of a large file."""
    path = tmp_path / "msg"
    path.write_bytes(b"A: b\n\n" + b"x\n" * 100000)
    f = open(path, "rb")
    stream = MessageStream(f, 1, chunk_bytes=1024)
    assert stream.read_all() == b"A: b\r\n\r\nx\r\n.\r\n"
    assert f.closed


def test_close_is_idempotent(tmp_path: Path) -> None:
    """Closing a stream twice (a dropped connection) is harmless and stops output."""
    path = tmp_path / "msg"
    path.write_bytes(b"A: b\n\nx\n")
    stream = MessageStream(open(path, "rb"))
    stream.close()
    stream.close()
    assert stream.next_chunk() == b""
