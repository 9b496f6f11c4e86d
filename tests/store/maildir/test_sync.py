"""Sync: unchanged mailboxes are not rescanned; external changes are picked up; UIDs persist."""

from __future__ import annotations

import glob
import os
import shutil
import time
from pathlib import Path

import pytest

from mailsuite.store.api import FlagMode
from mailsuite.store.maildir import MaildirStore, sync

from .conftest import file_of, msg


def age_dirs(root: str) -> None:
    """Make new/ and cur/ look last changed long ago, so their stamps are trusted."""
    past = time.time() - 60
    for sub in ("new", "cur"):
        os.utime(os.path.join(root, sub), (past, past))


def count_listings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    real = sync.list_names

    def spy(path: str, sub: str):  # type: ignore[no-untyped-def]
        seen.append(sub)
        return real(path, sub)

    monkeypatch.setattr(sync, "list_names", spy)
    return seen


def delete_index_files(root: str) -> None:
    for f in glob.glob(os.path.join(root, "*index*")) + glob.glob(os.path.join(root, "*cache*")):
        os.unlink(f)


def test_unchanged_mailbox_is_not_rescanned(
    store: MaildirStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With new/ and cur/ unchanged, snapshot lists no directory."""
    mbox = store.open_mailbox("INBOX")
    for i in range(5):
        mbox.append(msg(i))
    age_dirs(store.root)
    mbox.snapshot()  # stores trusted stamps
    listings = count_listings(monkeypatch)
    snap = mbox.snapshot()
    store.open_mailbox("INBOX").status()
    assert listings == []
    assert len(snap.messages) == 5


def test_file_dropped_into_new_is_picked_up(store: MaildirStore) -> None:
    """A file another agent puts into new/ gets the next UID; existing UIDs stay."""
    mbox = store.open_mailbox("INBOX")
    first = [mbox.append(msg(i)) for i in range(3)]
    age_dirs(store.root)
    before = mbox.snapshot()
    Path(store.root, "tmp", "999.ext.host").write_bytes(msg(99))
    os.rename(
        os.path.join(store.root, "tmp", "999.ext.host"),
        os.path.join(store.root, "new", "999.ext.host"),
    )
    after = mbox.snapshot()
    assert [r.uid for r in after.messages] == first + [4]
    assert after.messages[:3] == before.messages[:3]
    assert after.messages[3].filename == "999.ext.host"
    assert after.messages[3].modseq > before.highestmodseq
    assert store.quota().messages == 4


def test_file_renamed_by_mutt_changes_flags_and_modseq(store: MaildirStore) -> None:
    """A file renamed with new flags (as mutt does) shows the new flags under the same UID."""
    mbox = store.open_mailbox("INBOX")
    uid = mbox.append(msg(1))
    age_dirs(store.root)
    before = mbox.snapshot()
    path = file_of(store.root, before.messages[0].filename)
    os.rename(path, os.path.join(store.root, "cur", before.messages[0].filename + ":2,FS"))
    [rec] = mbox.snapshot().messages
    assert rec.uid == uid and rec.flags == {"\\Seen", "\\Flagged"}
    assert rec.modseq > before.highestmodseq


def test_file_removed_by_hand_is_expunged_and_vanished(store: MaildirStore) -> None:
    """A file deleted by hand disappears from the mailbox and is reported as VANISHED."""
    mbox = store.open_mailbox("INBOX")
    uids = [mbox.append(msg(i)) for i in range(3)]
    age_dirs(store.root)
    snap = mbox.snapshot()
    ms = snap.highestmodseq
    victim = snap.messages[1].filename
    os.unlink(file_of(store.root, victim))
    snap = mbox.snapshot()
    assert [r.uid for r in snap.messages] == [uids[0], uids[2]]
    assert mbox.vanished_since(ms) == [uids[1]]
    assert victim.partition(":")[0] not in Path(store.root, "dovecot-uidlist").read_text()
    assert store.quota().messages == 2


def test_deleting_the_index_loses_nothing(store: MaildirStore) -> None:
    """After the index files are deleted: same UIDs, UIDVALIDITY, flags, keywords; MODSEQ grows."""
    mbox = store.open_mailbox("INBOX")
    for i in range(4):
        mbox.append(msg(i))
    mbox.set_flags([2, 3], ["\\Seen", "$Important"], FlagMode.ADD)
    mbox.expunge([])
    before = mbox.snapshot()
    delete_index_files(store.root)
    fresh = store.open_mailbox("INBOX")
    after = fresh.snapshot()
    assert after.uidvalidity == before.uidvalidity and after.uidnext == before.uidnext
    assert [(r.uid, r.flags, r.filename) for r in after.messages] == [
        (r.uid, r.flags, r.filename) for r in before.messages
    ]
    assert min(r.modseq for r in after.messages) > before.highestmodseq
    assert after.highestmodseq > before.highestmodseq
    # The session opened before the deletion sees the same.
    assert [r.uid for r in mbox.snapshot().messages] == [1, 2, 3, 4]


def test_rebuild_after_copying_a_whole_maildir_keeps_uids(
    store: MaildirStore, tmp_path: Path
) -> None:
    """A Maildir copied without its index (as an admin restore does) keeps its UIDs and flags."""
    mbox = store.open_mailbox("INBOX")
    for i in range(3):
        mbox.append(msg(i), ["\\Answered"] if i == 1 else [])
    mbox.expunge()
    mbox.set_flags([1], ["\\Deleted"], FlagMode.ADD)
    mbox.expunge()
    copy = tmp_path / "restored"
    shutil.copytree(store.root, copy, ignore=shutil.ignore_patterns("*index*"))
    from mailsuite.store.maildir import open_user_store

    snap = open_user_store(str(copy), user="restored").open_mailbox("INBOX").snapshot()
    assert [(r.uid, r.flags) for r in snap.messages] == [(2, {"\\Answered"}), (3, frozenset())]
    assert snap.uidnext == 4


def test_modseq_is_monotonic_over_every_kind_of_change(store: MaildirStore) -> None:
    """HIGHESTMODSEQ strictly grows with appends, flag changes, expunges and rebuilds."""
    mbox = store.open_mailbox("INBOX")
    seen = [mbox.snapshot().highestmodseq]
    mbox.append(msg(1))
    seen.append(mbox.snapshot().highestmodseq)
    mbox.set_flags([1], ["\\Deleted"], FlagMode.ADD)
    seen.append(mbox.snapshot().highestmodseq)
    mbox.append(msg(2))
    seen.append(mbox.snapshot().highestmodseq)
    mbox.expunge()
    seen.append(mbox.snapshot().highestmodseq)
    delete_index_files(store.root)
    seen.append(mbox.snapshot().highestmodseq)
    assert seen == sorted(set(seen))


def test_stale_tmp_files_are_cleaned(store: MaildirStore) -> None:
    """Files a crashed writer left in tmp/ for over 36 hours are removed; fresh ones stay."""
    old, fresh = Path(store.root, "tmp", "old.host"), Path(store.root, "tmp", "fresh.host")
    old.write_bytes(b"x")
    fresh.write_bytes(b"y")
    past = time.time() - 37 * 3600
    os.utime(old, (past, past))
    assert sync.clean_tmp(store.root, now=time.time() + 7200) == 1
    assert not old.exists() and fresh.exists()


def test_message_removed_while_the_index_was_gone_is_vanished(store: MaildirStore) -> None:
    """A file removed while the index was deleted is still reported VANISHED afterwards."""
    mbox = store.open_mailbox("INBOX")
    uids = [mbox.append(msg(i)) for i in range(3)]
    snap = mbox.snapshot()
    delete_index_files(store.root)
    os.unlink(file_of(store.root, snap.messages[0].filename))
    after = store.open_mailbox("INBOX").snapshot()
    assert [r.uid for r in after.messages] == uids[1:]
    assert mbox.vanished_since(snap.highestmodseq) == [uids[0]]


def test_stray_directory_in_cur_gets_no_uid(store: MaildirStore) -> None:
    """A directory (or other non-file) in cur/ is ignored and never consumes UIDs."""
    mbox = store.open_mailbox("INBOX")
    os.mkdir(os.path.join(store.root, "cur", "1234.stray.host:2,S"))
    mbox.append(msg(1))
    for _ in range(3):
        mbox.core.sync(force=True)
    snap = mbox.snapshot()
    assert [r.uid for r in snap.messages] == [1] and snap.uidnext == 2


def test_file_with_sizes_in_its_name_is_listed_without_reading_it(
    store: MaildirStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file named with ,S= and ,W= (as Dovecot names them) is indexed from its name alone,
    and `index check` records its SHA-1 afterwards."""
    from mailsuite.store.maildir import integrity

    mbox = store.open_mailbox("INBOX")
    mbox.append(msg(1))
    data = msg(2)
    name = f"1700000000.M1P1.host,S={len(data)},W=4242"
    Path(store.root, "new", name).write_bytes(data)
    read: list[str] = []
    real = sync.facts_of_file

    def spy(path: str):  # type: ignore[no-untyped-def]
        read.append(path)
        return real(path)

    monkeypatch.setattr(sync, "facts_of_file", spy)
    [_, rec] = mbox.snapshot().messages
    assert read == []
    assert rec.rfc822_size == 4242  # from the name: the file was not read
    assert store.quota().messages == 2
    core = mbox.core
    assert core.state.hash_of(rec.uid) is None
    assert mbox.header_fields(rec.uid)["subject"] == ["message 2"]  # made from the file now
    monkeypatch.undo()
    integrity.check_mailbox(mbox)
    assert core.state.hash_of(rec.uid) is not None


def test_file_without_w_in_its_name_is_read_once_for_its_size_and_hash(
    store: MaildirStore,
) -> None:
    """A plain Maildir name gives no CRLF size: the file is read, sized and hashed."""
    mbox = store.open_mailbox("INBOX")
    data = b"Subject: bare\n\nline one\nline two\n"
    Path(store.root, "new", "1700000001.M2P2.host").write_bytes(data)
    [rec] = mbox.snapshot().messages
    assert rec.rfc822_size == len(data) + data.count(b"\n")
    assert mbox.core.state.hash_of(rec.uid) is not None


def test_first_envelope_of_a_file_listed_by_name_caches_its_header_fields_too(
    store: MaildirStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Filling the ENVELOPE cache from the file also fills the header-field cache."""
    mbox = store.open_mailbox("INBOX")
    data = msg(3)
    Path(store.root, "new", f"1700000002.M3P3.host,S={len(data)},W={len(data)}").write_bytes(data)
    [rec] = mbox.snapshot().messages
    mbox.envelope(rec.uid)
    opened: list[int] = []
    real = type(mbox).open_message

    def spy(self, uid):  # type: ignore[no-untyped-def]
        opened.append(uid)
        return real(self, uid)

    monkeypatch.setattr(type(mbox), "open_message", spy)
    assert mbox.header_fields(rec.uid)["subject"] == ["message 3"]
    assert opened == []
