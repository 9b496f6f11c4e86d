"""Corruption in an index record, a cached blob or a message file is detected, logged, repaired."""

from __future__ import annotations

import os
from pathlib import Path

from mailsuite.store.maildir import MaildirStore
from mailsuite.store.maildir.integrity import check_mailbox, rebuild_mailbox

from .conftest import LogLines, file_of, msg


def flip_all(path: Path, needle: bytes) -> int:
    """Flip one bit in every occurrence of needle in the file; returns how many."""
    data = bytearray(path.read_bytes())
    count, start = 0, 0
    while (pos := data.find(needle, start)) >= 0:
        data[pos + len(needle) - 1] ^= 0x01
        count += 1
        start = pos + len(needle)
    path.write_bytes(bytes(data))
    return count


def close_core(store: MaildirStore, name: str = "INBOX") -> None:
    """Close the shared SQLite handles so the WAL is folded into the index file."""
    mbox = store.open_mailbox(name)
    mbox.core.close()
    mbox.close()


def test_flipped_byte_in_index_record_is_repaired(store: MaildirStore, log: LogLines) -> None:
    """A record whose bytes changed fails its CRC, is logged with user and path, and rebuilt."""
    mbox = store.open_mailbox("INBOX")
    for i in range(3):
        mbox.append(msg(i))
    good = mbox.snapshot().messages
    close_core(store)
    index = Path(store.root, "mailsuite.index.sqlite")
    assert flip_all(index, good[1].filename.encode()) == 1
    again = store.open_mailbox("INBOX").snapshot()
    assert [(r.uid, r.filename, r.flags) for r in again.messages] == [
        (r.uid, r.filename, r.flags) for r in good
    ]
    assert "UID 2 has a bad CRC" in log.text() and "user=alice" in log.text()
    assert store.root in log.text()
    assert check_mailbox(store.open_mailbox("INBOX")).ok


def test_flipped_byte_in_cached_blob_is_rebuilt(store: MaildirStore, log: LogLines) -> None:
    """A cached header blob with a bad CRC is rebuilt from the message file when read."""
    mbox = store.open_mailbox("INBOX")
    uid = mbox.append(msg(1, "X-Marker: zebra\n"), internal_date=None)
    mbox.append(msg(2))
    assert mbox.header_fields(uid)["subject"] == ["message 1"]
    close_core(store)
    assert flip_all(Path(store.root, "mailsuite.index.sqlite"), b"message 1") >= 1
    mbox = store.open_mailbox("INBOX")
    report = check_mailbox(mbox)
    assert not report.ok and any(f"cached hdr of UID {uid}" in p for p in report.problems)
    assert mbox.header_fields(uid)["subject"] == ["message 1"]
    assert "cached hdr of UID 1 has a bad CRC" in log.text()
    assert check_mailbox(mbox).ok


def test_cached_blob_read_detects_corruption_without_check(
    store: MaildirStore, log: LogLines
) -> None:
    """Reading a damaged blob during normal use logs it and answers from the file."""
    mbox = store.open_mailbox("INBOX")
    uid = mbox.append(msg(5))
    close_core(store)
    flip_all(Path(store.root, "mailsuite.index.sqlite"), b"message 5")
    mbox = store.open_mailbox("INBOX")
    assert mbox.header_fields(uid)["subject"] == ["message 5"]
    assert "has a bad CRC; rebuilt from the message file" in log.text()


def test_damaged_message_file_is_reported_never_dropped(store: MaildirStore, log: LogLines) -> None:
    """A message file that no longer matches its SHA-1 is reported and logged, and kept."""
    mbox = store.open_mailbox("INBOX")
    uid = mbox.append(msg(1))
    mbox.append(msg(2))
    [rec] = [r for r in mbox.snapshot().messages if r.uid == uid]
    path = Path(file_of(store.root, rec.filename))
    flip_all(path, b"Body of message 1")
    report = check_mailbox(mbox)
    assert report.damaged_files == [str(path)]
    assert "message file damaged" in report.problems[0] and "user=alice" in report.problems[0]
    assert str(path) in log.text()
    assert [r.uid for r in mbox.snapshot().messages] == [1, 2]
    assert path.exists()


def test_garbage_index_file_is_replaced(store: MaildirStore, log: LogLines) -> None:
    """An index file that is not a database at all is logged, deleted and rebuilt."""
    mbox = store.open_mailbox("INBOX")
    mbox.append(msg(1), ["\\Seen"])
    close_core(store)
    Path(store.root, "mailsuite.index.sqlite").write_bytes(b"\x00garbage" * 1000)
    for suffix in ("-wal", "-shm"):
        if os.path.exists(os.path.join(store.root, "mailsuite.index.sqlite" + suffix)):
            os.unlink(os.path.join(store.root, "mailsuite.index.sqlite" + suffix))
    [rec] = store.open_mailbox("INBOX").snapshot().messages
    assert rec.uid == 1 and rec.flags == {"\\Seen"}
    assert "rebuilding" in log.text()


def test_rebuild_keeps_everything(store: MaildirStore) -> None:
    """index rebuild keeps UIDs and flags and raises MODSEQ."""
    mbox = store.open_mailbox("INBOX")
    for i in range(3):
        mbox.append(msg(i), ["\\Flagged"] if i else [])
    before = mbox.snapshot()
    assert rebuild_mailbox(mbox) == 3
    after = mbox.snapshot()
    assert [(r.uid, r.flags) for r in after.messages] == [(r.uid, r.flags) for r in before.messages]
    assert after.highestmodseq > before.highestmodseq
