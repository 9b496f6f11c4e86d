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
