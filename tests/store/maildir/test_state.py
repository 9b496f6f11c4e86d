"""The durable state: MODSEQ ceiling, vanished UIDs, message hashes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mailsuite.store.maildir.state import MODSEQ_RESERVE, StateDB


def test_modseq_ceiling_is_reserved_ahead_and_never_lowered(tmp_path: Path) -> None:
    """The ceiling jumps ahead in steps, so most MODSEQs cost no durable write, and never drops."""
    db = StateDB(str(tmp_path / "s.sqlite"))
    assert db.modseq_ceiling() == 0
    assert db.reserve_modseq(5) == 5 + MODSEQ_RESERVE
    assert db.reserve_modseq(6) == 5 + MODSEQ_RESERVE
    assert db.reserve_modseq(3) == 5 + MODSEQ_RESERVE
    db.close()
    assert StateDB(str(tmp_path / "s.sqlite")).modseq_ceiling() == 5 + MODSEQ_RESERVE


def test_vanished_replaces_hashes(tmp_path: Path) -> None:
    """Expunged UIDs are listed by MODSEQ and their hashes are dropped."""
    db = StateDB(str(tmp_path / "s.sqlite"))
    db.add_hashes([(1, "a" * 40, 10), (2, "b" * 40, 20), (3, "c" * 40, 30)])
    db.add_vanished([(2, 7), (3, 9)])
    assert db.vanished_since(6) == [2, 3] and db.vanished_since(7) == [3]
    assert db.all_hashes() == {1: ("a" * 40, 10)}


def _synced_wal(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records the files fdatasynced (the real fdatasync still runs)."""
    synced: list[str] = []
    real = os.fdatasync

    def fdatasync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(os, "fdatasync", fdatasync)
    return synced


def test_durable_transactions_sync_the_wal_and_hash_only_ones_do_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A MODSEQ or VANISHED commit syncs the WAL before returning; a hash-only commit does not."""
    path = str(tmp_path / "s.sqlite")
    db = StateDB(path)
    synced = _synced_wal(monkeypatch)
    db.begin()
    db.add_hashes([(1, "a" * 40, 10)])
    db.commit()
    assert synced == []
    db.begin()
    db.reserve_modseq(9)
    db.add_hashes([(2, "b" * 40, 20)])
    db.commit()
    assert synced == [path + "-wal"]
    db.begin()
    db.add_vanished([(1, 10)])
    db.commit()
    assert synced == [path + "-wal"] * 2
    db.begin()
    db.add_hashes([(3, "c" * 40, 30)])
    db.rollback()
    db.close()
    again = StateDB(path)
    assert again.all_hashes() == {2: ("b" * 40, 20)}
    assert again.modseq_ceiling() == 9 + MODSEQ_RESERVE


def test_writes_outside_a_transaction_are_synced_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ceiling raised without begin()/commit() is its own transaction, synced like one."""
    path = str(tmp_path / "s.sqlite")
    db = StateDB(path)
    synced = _synced_wal(monkeypatch)
    db.reserve_modseq(3)
    assert synced == [path + "-wal"] and not db.conn.in_transaction
    db.add_vanished([(4, 5)])
    assert len(synced) == 2
    assert StateDB(path).vanished_since(0) == [4]


def test_reserve_under_the_known_ceiling_runs_no_statement(tmp_path: Path) -> None:
    """Once the ceiling is known, a MODSEQ below it costs neither a statement nor a transaction."""
    db = StateDB(str(tmp_path / "s.sqlite"))
    db.reserve_modseq(5)
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    assert db.covers(5 + MODSEQ_RESERVE) and not db.covers(6 + MODSEQ_RESERVE)
    assert db.reserve_modseq(100) == 5 + MODSEQ_RESERVE
    assert statements == []


def test_a_ceiling_raised_elsewhere_is_read_again_before_raising(tmp_path: Path) -> None:
    """Another process's higher ceiling is found inside the write transaction and kept."""
    path = str(tmp_path / "s.sqlite")
    mine, other = StateDB(path), StateDB(path)
    mine.reserve_modseq(1)
    other.reserve_modseq(5000)
    assert mine.reserve_modseq(2000) == 5000 + MODSEQ_RESERVE
    assert StateDB(path).modseq_ceiling() == 5000 + MODSEQ_RESERVE


def test_a_rolled_back_raise_is_not_remembered(tmp_path: Path) -> None:
    """A ceiling raised in a transaction that is rolled back does not cover later MODSEQs."""
    db = StateDB(str(tmp_path / "s.sqlite"))
    db.begin()
    db.reserve_modseq(50)
    db.rollback()
    assert not db.covers(50)
    assert db.modseq_ceiling() == 0
