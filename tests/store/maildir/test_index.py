"""The index/cache file: CRC per record and per blob, checked on every read."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailsuite.store.maildir.index import IndexDB, IndexRow, blob_crc

ROW = IndexRow(7, "1.M1P1.host,S=10,W=12:2,S", "cur", "\\Seen", 3, 10, 12, 1700000000.5)


@pytest.mark.parametrize(
    "column, value",
    [
        ("name", "other"),
        ("dir", "new"),
        ("flags", ""),
        ("modseq", 4),
        ("psize", 11),
        ("vsize", 13),
        ("idate", 1.0),
    ],  # fmt: skip
)
def test_any_changed_column_fails_the_crc(tmp_path: Path, column: str, value: object) -> None:
    """Changing any single column behind the index's back makes that record fail its CRC."""
    idx = IndexDB(str(tmp_path / "i.sqlite"))
    idx.begin()
    idx.upsert([ROW, ROW._replace(uid=8)])
    idx.commit()
    idx.conn.execute(f"UPDATE msgs SET {column}=? WHERE uid=7", (value,))
    good, bad = idx.rows_since(-1)
    assert bad == [7] and [r.uid for r in good] == [8]


def test_blob_crc_covers_uid_and_kind(tmp_path: Path) -> None:
    """A blob moved to another message or kind fails its CRC like a damaged one."""
    idx = IndexDB(str(tmp_path / "i.sqlite"))
    idx.begin()
    idx.put_blobs([(1, "env", b"one"), (2, "env", b"two")])
    idx.commit()
    assert idx.get_blob(1, "env") == (b"one", False)
    idx.conn.execute("UPDATE cache SET uid=3 WHERE uid=1")
    assert idx.get_blob(3, "env") == (None, True)
    assert idx.bad_blobs() == [(3, "env")]
    assert blob_crc(1, "env", b"x") != blob_crc(1, "bs", b"x")


def test_rows_since_returns_only_newer_records(tmp_path: Path) -> None:
    """Incremental loading reads only records with a higher MODSEQ."""
    idx = IndexDB(str(tmp_path / "i.sqlite"))
    idx.begin()
    idx.upsert([ROW, ROW._replace(uid=9, modseq=5)])
    idx.commit()
    good, bad = idx.rows_since(3)
    assert [r.uid for r in good] == [9] and bad == []


def test_meta_writes_are_remembered_once_committed_and_forgotten_on_rollback(
    tmp_path: Path,
) -> None:
    """The in-memory meta table follows commits, ignores rollbacks and reloads in one statement."""
    idx = IndexDB(str(tmp_path / "i.sqlite"))
    idx.begin()
    idx.set_metas({"uidnext": 5, "highestmodseq": 7})
    assert "uidnext" not in idx.meta  # not yet committed
    idx.commit()
    assert idx.meta["uidnext"] == "5" and idx.meta["highestmodseq"] == "7"
    idx.begin()
    idx.set_meta("uidnext", 9)
    idx.rollback()
    assert idx.meta["uidnext"] == "5" and idx.get_meta("uidnext") == "5"
    other = IndexDB(str(tmp_path / "i.sqlite"))
    other.set_meta("uidnext", 11)  # another process
    assert idx.meta["uidnext"] == "5"  # until reloaded
    seen: list[str] = []
    idx.conn.set_trace_callback(seen.append)
    assert idx.load_meta()["uidnext"] == "11" and len(seen) == 1
