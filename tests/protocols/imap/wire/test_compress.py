"""RFC 4978 DEFLATE streams, sans-IO: raw deflate, sync flushes, bounded inflation."""

from __future__ import annotations

import zlib

import pytest

from mailsuite.protocols.imap.wire.compress import (
    INFLATE_PIECE_BYTES,
    CompressionError,
    Deflater,
    Inflater,
)

RESPONSES = b"".join(
    b"* %d FETCH (FLAGS (\\Seen) UID %d)\r\n" % (i, i + 100) for i in range(1, 500)
)


def client_compressor() -> zlib._Compress:
    return zlib.compressobj(6, zlib.DEFLATED, -15)


def test_output_is_raw_deflate_a_client_decodes() -> None:
    """The server stream is raw DEFLATE (no zlib header) that zlib with wbits -15 decodes."""
    d = Deflater()
    wire = d.write(RESPONSES)
    assert zlib.decompressobj(-15).decompress(wire) == RESPONSES
    with pytest.raises(zlib.error):
        zlib.decompress(wire)  # no zlib header: a plain zlib stream would not read it
    assert len(wire) < len(RESPONSES) // 5
    assert (d.bytes_in, d.bytes_out) == (len(RESPONSES), len(wire))


def test_every_flush_makes_all_output_decodable() -> None:
    """After each sync flush the client can decode every byte written so far (RFC 4978 4)."""
    d = Deflater()
    client = zlib.decompressobj(-15)
    got = b""
    for line in (b"* OK ready\r\n", b"* 3 EXISTS\r\n", b"a1 OK done\r\n"):
        wire = d.compress(line) + d.flush()
        assert wire.endswith(b"\x00\x00\xff\xff")  # the empty stored block of Z_SYNC_FLUSH
        got += client.decompress(wire)
        assert got.endswith(line)


def test_idle_flush_sends_nothing() -> None:
    """A flush with nothing new written produces no bytes (an idle client gets no noise)."""
    d = Deflater()
    assert d.flush() == b""
    d.write(b"x")
    assert d.flush() == b""
    assert d.compress(b"") == b""


def test_inflate_any_split() -> None:
    """Client input decodes the same whether it arrives at once or one byte at a time."""
    c = client_compressor()
    wire = c.compress(b"a1 NOOP\r\na2 SELECT INBOX\r\n") + c.flush(zlib.Z_SYNC_FLUSH)
    whole = Inflater()
    whole.feed(wire)
    assert whole.read() == b"a1 NOOP\r\na2 SELECT INBOX\r\n"
    assert whole.read() == b"" and not whole.pending
    bytewise = Inflater()
    out = b""
    for i in range(len(wire)):
        bytewise.feed(wire[i : i + 1])
        while piece := bytewise.read():
            out += piece
    assert out == b"a1 NOOP\r\na2 SELECT INBOX\r\n"
    assert bytewise.bytes_in == len(wire) and bytewise.bytes_out == len(out)


def test_deflate_bomb_expands_in_bounded_pieces() -> None:
    """50 MB of zeros in ~50 KB of input never comes out more than one piece per read."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = c.compress(b"\0" * (50 * 1024 * 1024)) + c.flush(zlib.Z_SYNC_FLUSH)
    assert len(bomb) < 100_000
    inf = Inflater()
    inf.feed(bomb)
    first = inf.read()
    assert len(first) == INFLATE_PIECE_BYTES and inf.pending
    assert len(inf.read(1000)) == 1000
    total = len(first) + 1000
    while piece := inf.read():
        assert len(piece) <= INFLATE_PIECE_BYTES
        total += len(piece)
    assert total == 50 * 1024 * 1024 and not inf.pending
    with pytest.raises(CompressionError, match="beyond 1048576"):
        Inflater().read_all(bomb, 1 << 20)


def test_corrupt_input_and_data_after_the_end() -> None:
    """Invalid DEFLATE data, or data after a finished stream, raise CompressionError."""
    bad = Inflater()
    bad.feed(b"\xff\xff\xff\xff")
    with pytest.raises(CompressionError, match="Invalid DEFLATE"):
        bad.read()
    c = client_compressor()
    ended = c.compress(b"a LOGOUT\r\n") + c.flush()  # Z_FINISH: the stream ends
    inf = Inflater()
    with pytest.raises(CompressionError, match="after the end"):
        inf.read_all(ended + b"more", 1000)
    inf2 = Inflater()
    assert inf2.read_all(ended, 1000) == b"a LOGOUT\r\n"
    with pytest.raises(CompressionError, match="after the end"):
        inf2.feed(b"x")
    with pytest.raises(ValueError):
        Inflater(0)
