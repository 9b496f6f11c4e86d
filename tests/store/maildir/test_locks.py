"""Dovecot's dotlock and the exclusive flock."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mailsuite.errors import ErrorKind, MailError
from mailsuite.store.maildir.locks import DotLock, atomic_write, try_flock


def test_replace_writes_through_the_lock_file(tmp_path: Path) -> None:
    """The new content goes into the .lock file, which is renamed over the target."""
    target = tmp_path / "dovecot-uidlist"
    target.write_bytes(b"old")
    lock = DotLock.acquire(str(target))
    assert (tmp_path / "dovecot-uidlist.lock").exists()
    lock.replace(b"new")
    assert target.read_bytes() == b"new"
    assert not (tmp_path / "dovecot-uidlist.lock").exists()


def test_held_lock_times_out_with_temp(tmp_path: Path) -> None:
    """A lock held by someone else makes the next taker fail with TEMP after the timeout."""
    first = DotLock.acquire(str(tmp_path / "f"))
    with pytest.raises(MailError) as info:
        DotLock.acquire(str(tmp_path / "f"), timeout_s=0.05)
    assert info.value.kind is ErrorKind.TEMP
    first.release()
    DotLock.acquire(str(tmp_path / "f")).release()


def test_flock_is_exclusive_until_released(tmp_path: Path) -> None:
    """try_flock gives the lock once; it is free again after release."""
    path = str(tmp_path / "x.lock")
    release = try_flock(path)
    assert release is not None and try_flock(path) is None
    release()
    again = try_flock(path)
    assert again is not None
    again()


def test_atomic_write_leaves_no_temp_file(tmp_path: Path) -> None:
    """atomic_write replaces the file and leaves nothing else behind."""
    atomic_write(str(tmp_path / "f"), b"1")
    atomic_write(str(tmp_path / "f"), b"2", fsync=True)
    assert os.listdir(tmp_path) == ["f"] and (tmp_path / "f").read_bytes() == b"2"


def test_append_extends_the_same_file_and_releases(tmp_path: Path) -> None:
    """Appending keeps the target's inode, adds the bytes at the end and drops the lock."""
    target = tmp_path / "dovecot-uidlist"
    target.write_bytes(b"3 V1 N1\n")
    st = os.stat(target)
    lock = DotLock.acquire(str(target))
    assert lock.append(b"1 :a\n", (st.st_ino, st.st_mtime_ns, st.st_size))
    assert target.read_bytes() == b"3 V1 N1\n1 :a\n"
    assert os.stat(target).st_ino == st.st_ino
    assert not lock.held and not (tmp_path / "dovecot-uidlist.lock").exists()


def test_append_refuses_a_changed_or_missing_target(tmp_path: Path) -> None:
    """When the target is not the file the caller read, nothing is written and the lock stays."""
    target = tmp_path / "dovecot-uidlist"
    target.write_bytes(b"3 V1 N1\n")
    st = os.stat(target)
    lock = DotLock.acquire(str(target))
    assert not lock.append(b"1 :a\n", (st.st_ino, st.st_mtime_ns, st.st_size + 1))
    assert target.read_bytes() == b"3 V1 N1\n" and lock.held
    os.unlink(target)
    assert not lock.append(b"1 :a\n", (st.st_ino, st.st_mtime_ns, st.st_size))
    assert lock.held
    lock.replace(b"3 V1 N2\n1 :a\n")
    assert target.read_bytes() == b"3 V1 N2\n1 :a\n"
