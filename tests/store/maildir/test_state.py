"""The durable state: MODSEQ ceiling, vanished UIDs, message hashes."""

from __future__ import annotations

from pathlib import Path

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


def _level(db: StateDB) -> int:
    return int(db.conn.execute("PRAGMA synchronous").fetchone()[0])


def test_transactions_leave_the_connection_fully_synchronous(tmp_path: Path) -> None:
    """Hash-only and MODSEQ transactions both commit, and writes outside them stay FULL."""
    path = str(tmp_path / "s.sqlite")
    db = StateDB(path)
    assert _level(db) == 2  # FULL
    db.begin()
    db.add_hashes([(1, "a" * 40, 10)])
    db.commit()
    assert _level(db) == 2
    db.begin()
    db.reserve_modseq(9)
    db.add_hashes([(2, "b" * 40, 20)])
    db.commit()
    assert _level(db) == 2
    db.begin()
    db.add_hashes([(3, "c" * 40, 30)])
    db.rollback()
    assert _level(db) == 2
    db.close()
    again = StateDB(path)
    assert again.all_hashes() == {1: ("a" * 40, 10), 2: ("b" * 40, 20)}
    assert again.modseq_ceiling() == 9 + MODSEQ_RESERVE
