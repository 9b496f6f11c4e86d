"""APPEND spool files: private and nameless, read back whole, failures reported, never leaked."""

from __future__ import annotations

import os
import resource
import signal
import stat
from pathlib import Path

import pytest

from mailsuite.errors import ErrorKind, MailError
from mailsuite.protocols.imap.spool import (
    SPOOL_FILE_PREFIX,
    SPOOL_WRITE_BUFFER_BYTES,
    STALE_SPOOL_S,
    AppendSpool,
    SpooledLiteral,
)


def _fd_path(sink: SpooledLiteral) -> str:
    f = sink.open()
    return os.readlink(f"/proc/self/fd/{f.fileno()}")


def test_prepare_makes_a_private_directory(tmp_path: Path) -> None:
    """The spool directory is created (or tightened) to mode 0700."""
    directory = tmp_path / "state" / "imap-spool"
    directory.parent.mkdir()
    directory.mkdir(mode=0o755)
    os.chmod(directory, 0o755)
    AppendSpool(str(directory)).prepare()
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_spool_file_is_nameless_private_and_read_back_whole(tmp_path: Path) -> None:
    """Octets written in pieces larger and smaller than the buffer read back identical; the
    file has no name in the directory and mode 0600 at most."""
    spool = AppendSpool(str(tmp_path / "spool"))
    spool.prepare()
    data = os.urandom(3 * SPOOL_WRITE_BUFFER_BYTES + 12345)
    sink = spool.open(len(data))
    view = memoryview(data)
    for start in range(0, len(data), 70000):
        sink.write(view[start : start + 70000])
    sink.finish()
    assert os.listdir(tmp_path / "spool") == []
    f = sink.open()
    assert stat.S_IMODE(os.fstat(f.fileno()).st_mode) & 0o077 == 0
    assert _fd_path(sink).startswith(str(tmp_path / "spool") + "/")
    assert _fd_path(sink).endswith("(deleted)")
    got = b""
    while chunk := f.read(65536):
        got += chunk
    assert got == data
    sink.close()
    assert sink.closed
    sink.close()  # idempotent


def test_short_spool_is_a_temporary_error(tmp_path: Path) -> None:
    """A spool that did not get all announced octets refuses to be read (TEMP, with counts)."""
    sink = AppendSpool(str(tmp_path)).open(10)
    sink.write(b"12345")
    sink.finish()
    with pytest.raises(MailError) as e:
        sink.open()
    assert e.value.kind is ErrorKind.TEMP
    assert "5 of 10 octets" in e.value.detail and str(tmp_path) in e.value.detail
    sink.close()


def test_uncreatable_spool_consumes_and_reports(tmp_path: Path) -> None:
    """When the file cannot be made, writes are swallowed and open() says why, naming the path."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_bytes(b"")
    sink = AppendSpool(str(blocker)).open(4)
    sink.write(b"abcd")
    sink.finish()
    with pytest.raises(MailError) as e:
        sink.open()
    assert e.value.kind is ErrorKind.TEMP
    assert str(blocker) in e.value.detail and "creating a spool file" in e.value.detail
    sink.close()


def test_write_failure_is_reported_at_open(tmp_path: Path) -> None:
    """A write the kernel refuses (file size limit, as a full disk would) is reported as TEMP."""
    sink = AppendSpool(str(tmp_path)).open(4 * SPOOL_WRITE_BUFFER_BYTES)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a kill
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (SPOOL_WRITE_BUFFER_BYTES, hard))
    try:
        for _ in range(4):
            sink.write(b"x" * SPOOL_WRITE_BUFFER_BYTES)
        sink.finish()
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old_handler)
    with pytest.raises(MailError) as e:
        sink.open()
    assert e.value.kind is ErrorKind.TEMP
    assert "writing a spool file" in e.value.detail and str(tmp_path) in e.value.detail
    sink.close()


def test_spool_directory_removed_meanwhile_is_made_again(tmp_path: Path) -> None:
    """A spool directory deleted by an admin is recreated on the next APPEND."""
    directory = tmp_path / "spool"
    spool = AppendSpool(str(directory))
    sink = spool.open(3)
    sink.write(b"abc")
    sink.finish()
    assert sink.open().read() == b"abc"
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    sink.close()


def test_prepare_removes_only_stale_named_leftovers(tmp_path: Path) -> None:
    """Start-up drops old fallback spool files left by a crash, keeps young ones and others."""
    spool = AppendSpool(str(tmp_path))
    old = tmp_path / f"{SPOOL_FILE_PREFIX}old"
    young = tmp_path / f"{SPOOL_FILE_PREFIX}young"
    other = tmp_path / "unrelated"
    for p in (old, young, other):
        p.write_bytes(b"x")
    now = 1_000_000_000.0
    os.utime(old, (now - STALE_SPOOL_S - 1, now - STALE_SPOOL_S - 1))
    os.utime(young, (now - 10, now - 10))
    os.utime(other, (now - STALE_SPOOL_S - 1, now - STALE_SPOOL_S - 1))
    assert spool.prepare(now=now) == [str(old)]
    assert sorted(os.listdir(tmp_path)) == [young.name, other.name]
