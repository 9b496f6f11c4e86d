"""Tests for the message spool."""

from __future__ import annotations

import io
import os

import pytest

from mailsuite.delivery.spool import PrefixedReader, Spool


def test_small_body_stays_in_memory() -> None:
    """A body under the memory limit never creates a file and reads back whole."""
    spool = Spool(memory_bytes=100)
    spool.write(b"abc")
    spool.write(b"def")
    spool.finish()
    assert spool.path is None and spool.size == 6
    with spool.open() as f:
        assert f.read() == b"abcdef"


def test_large_body_goes_to_a_temp_file_removed_on_close(tmp_path) -> None:
    """A body over the memory limit is written to a temp file that close() removes."""
    spool = Spool(str(tmp_path), memory_bytes=10)
    for _ in range(5):
        spool.write(b"0123456789")
    spool.finish()
    assert spool.path is not None and os.path.dirname(spool.path) == str(tmp_path)
    readers = [spool.open(), spool.open()]
    assert [r.read() for r in readers] == [b"0123456789" * 5] * 2
    for r in readers:
        r.close()
    path = spool.path
    spool.close()
    assert not os.path.exists(path)


def test_reading_before_finish_and_writing_after_are_refused() -> None:
    """The spool is write-once: open() needs finish(), write() after finish() fails."""
    spool = Spool()
    with pytest.raises(ValueError):
        spool.open()
    spool.finish()
    with pytest.raises(ValueError):
        spool.write(b"x")


def test_from_stream_reads_everything() -> None:
    """from_stream spools a whole stream."""
    spool = Spool.from_stream(io.BytesIO(b"x" * 100_000), chunk_bytes=4096)
    assert spool.size == 100_000 and spool.read_head(10) == b"x" * 10


def test_prefixed_reader_yields_prefix_then_body_in_any_read_size() -> None:
    """PrefixedReader returns the prefix then the body, whatever the read sizes."""
    for size in (1, 3, 7, 100):
        reader = PrefixedReader(b"Head: 1\r\n", io.BytesIO(b"body\r\n"))
        out = b""
        while chunk := reader.read(size):
            out += chunk
        assert out == b"Head: 1\r\nbody\r\n"


def test_in_memory_gives_small_bodies_only(tmp_path) -> None:
    """in_memory() returns a small body's bytes and None once the body went to disk."""
    small = Spool(memory_bytes=10)
    small.write(b"abc")
    small.finish()
    assert small.in_memory() == b"abc"
    big = Spool(str(tmp_path), memory_bytes=2)
    big.write(b"abcdef")
    big.finish()
    assert big.in_memory() is None
    big.close()


def test_background_writes_touch_the_disk_only_in_flush(tmp_path) -> None:
    """With background_writes, write() only queues; flush() and finish() write, in order."""
    spool = Spool(str(tmp_path), memory_bytes=4, background_writes=True)
    spool.write(b"abc")
    assert not spool.on_disk and spool.queued_bytes == 0
    spool.write(b"defg")
    spool.write(b"hij")
    assert spool.on_disk and spool.queued_bytes == 10 and os.listdir(tmp_path) == []
    spool.flush()
    assert spool.queued_bytes == 0 and len(os.listdir(tmp_path)) == 1
    spool.write(b"klm")
    spool.finish()
    with spool.open() as f:
        assert f.read() == b"abcdefghijklm"
    spool.close()
    assert os.listdir(tmp_path) == []


def test_a_failed_background_write_spoils_the_body(tmp_path) -> None:
    """When a flush fails (no spool directory), finish() fails too: a body with a hole is unread."""
    spool = Spool(str(tmp_path / "missing"), memory_bytes=2, background_writes=True)
    spool.write(b"abcdef")
    with pytest.raises(OSError):
        spool.flush()
    os.mkdir(tmp_path / "missing")
    spool.write(b"ghi")
    with pytest.raises(OSError):
        spool.finish()
    spool.close()
