"""Messages a read-write session has seen move from new/ to cur/, as Maildir readers do."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mailsuite.store.maildir import MaildirStore, seen, sync

from .conftest import LogLines, msg, other_process_mailbox


def names(root: str, sub: str) -> list[str]:
    return sorted(os.listdir(os.path.join(root, sub)))


def drop(root: str, name: str, data: bytes) -> None:
    Path(root, "tmp", name).write_bytes(data)
    os.rename(os.path.join(root, "tmp", name), os.path.join(root, "new", name))


def test_snapshot_moves_new_messages_to_cur_keeping_uid_and_name(store: MaildirStore) -> None:
    """After a read-write snapshot, new/ is empty and each file is cur/<base>:2, with its UID."""
    mbox = store.open_mailbox("INBOX")
    uids = [mbox.append(msg(i)) for i in range(3)]
    drop(store.root, "100.ext.host", msg(9))
    snap = mbox.snapshot()
    assert names(store.root, "new") == []
    assert names(store.root, "cur") == sorted(r.filename + ":2," for r in snap.messages)
    assert [r.uid for r in snap.messages] == uids + [4]
    assert all(r.flags == frozenset() for r in snap.messages)
    uidlist = Path(store.root, "dovecot-uidlist").read_text()
    assert all(f"{r.uid} :{r.filename}" in uidlist for r in snap.messages)
    with mbox.open_message(uids[0]) as f:
        assert f.read() == msg(0)


def test_examine_moves_nothing(store: MaildirStore) -> None:
    """A read-only session (EXAMINE) leaves new/ as it is."""
    store.open_mailbox("INBOX").append(msg(1))
    ro = store.open_mailbox("INBOX", readonly=True)
    assert len(ro.snapshot().messages) == 1
    assert len(names(store.root, "new")) == 1


def test_recent_is_unchanged_by_the_move(store: MaildirStore) -> None:
    """\\Recent still goes to exactly one session although the files left new/."""
    mbox = store.open_mailbox("INBOX")
    uid = mbox.append(msg(1))
    first = store.open_mailbox("INBOX").snapshot()
    second = store.open_mailbox("INBOX").snapshot()
    assert first.recent_uids == {uid} and second.recent_uids == frozenset()


def test_other_process_follows_the_moved_file_without_listing(
    store: MaildirStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second store instance that loaded the message from new/ opens it in cur/ afterwards."""
    mbox = store.open_mailbox("INBOX")
    past = 1_600_000_000
    for sub in ("new", "cur"):
        os.utime(os.path.join(store.root, sub), (past, past))
    mbox.core.sync(force=True)  # trusted stamps: from here on only our own changes
    uid = mbox.append(msg(1))
    other = other_process_mailbox(store, readonly=True)
    other.snapshot()
    listed: list[str] = []
    real = sync.list_names
    monkeypatch.setattr(sync, "list_names", lambda p, s: listed.append(s) or real(p, s))
    mbox.snapshot()
    assert names(store.root, "new") == []
    with other.open_message(uid) as f:
        assert f.read() == msg(1)
    assert other.snapshot().messages[0].uid == uid
    assert listed == []


def test_a_big_new_dir_is_moved_in_batches(
    store: MaildirStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An old Maildir with many files in new/ is moved a batch per snapshot, never all at once."""
    monkeypatch.setattr(seen, "MOVE_BATCH", 2)
    for i in range(5):
        drop(store.root, f"{100 + i}.ext.host", msg(i))
    mbox = store.open_mailbox("INBOX")
    counts = []
    for _ in range(4):
        mbox.snapshot()
        counts.append(len(names(store.root, "new")))
    assert counts == [3, 1, 0, 0]
    assert [r.uid for r in mbox.snapshot().messages] == [1, 2, 3, 4, 5]


def test_flags_set_on_a_message_in_new_keep_working_after_the_move(store: MaildirStore) -> None:
    """A flag change right after the move renames the file in cur/."""
    from mailsuite.store.api import FlagMode

    mbox = store.open_mailbox("INBOX")
    uid = mbox.append(msg(1))
    mbox.snapshot()
    [rec] = mbox.set_flags([uid], ["\\Seen"], FlagMode.ADD).changed
    assert rec.flags == {"\\Seen"}
    assert names(store.root, "cur") == [rec.filename + ":2,S"]


def test_a_new_dir_that_cannot_be_written_is_served_as_it_is(
    store: MaildirStore, log: LogLines
) -> None:
    """When new/ cannot be changed, SELECT still works and the problem is logged once."""
    import shutil
    import subprocess

    mbox = store.open_mailbox("INBOX")
    uid = mbox.append(msg(1))
    new_dir = os.path.join(store.root, "new")
    # An immutable directory refuses renames even to root (as a read-only mount would).
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not available")
    if subprocess.run(["chattr", "+i", new_dir], capture_output=True).returncode != 0:
        pytest.skip("cannot make directories immutable here (needs root and ext4/xfs)")
    try:
        assert [r.uid for r in mbox.snapshot().messages] == [uid]
        mbox.snapshot()
        with mbox.open_message(uid) as f:
            assert f.read() == msg(1)
    finally:
        subprocess.run(["chattr", "-i", new_dir], check=True)
    assert log.text().count("cannot move") == 1
