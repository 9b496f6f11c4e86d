"""Delivery: tmp/, fsync, rename into new/ or cur/, fsync the directory, then the UID."""

from __future__ import annotations

import hashlib
import io
import os
import sqlite3
from pathlib import Path

import pytest

from mailsuite.store.maildir import MaildirStore
from mailsuite.store.maildir.uidlist import format_uidlist, parse_uidlist

from .conftest import msg


def test_append_writes_fsyncs_renames_then_fsyncs_directory(
    store: MaildirStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file is fsynced in tmp/, renamed into new/, and new/ is fsynced before the UID."""
    events: list[str] = []
    real_fsync, real_rename = os.fsync, os.rename

    def fsync(fd: int) -> None:
        target = os.readlink(f"/proc/self/fd/{fd}")
        events.append("fsync " + target.replace(store.root, ""))
        real_fsync(fd)

    def rename(src: str, dst: str) -> None:
        events.append(f"rename {src.replace(store.root, '')} -> {dst.replace(store.root, '')}")
        real_rename(src, dst)

    mbox = store.open_mailbox("INBOX")
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "rename", rename)
    uid = mbox.append(msg(1))
    monkeypatch.undo()
    msg_fsync = next(i for i, e in enumerate(events) if e.startswith("fsync /tmp/"))
    into_new = next(
        i for i, e in enumerate(events) if e.startswith("rename /tmp/") and " -> /new/" in e
    )
    dir_fsync = events.index("fsync /new")
    assert msg_fsync < into_new < dir_fsync
    assert uid == 1
    assert os.listdir(os.path.join(store.root, "tmp")) == []
    [name] = os.listdir(os.path.join(store.root, "new"))
    data = msg(1)
    vsize = len(data) + data.count(b"\n")
    assert f",S={len(data)},W={vsize}" in name
    with mbox.open_message(uid) as f:
        assert f.read() == data


def test_uidlist_and_hash_are_recorded(store: MaildirStore) -> None:
    """Each delivery adds a uidlist line and records the message's SHA-1 durably."""
    mbox = store.open_mailbox("INBOX")
    uids = [mbox.append(msg(i)) for i in range(3)]
    assert uids == [1, 2, 3]
    lines = Path(store.root, "dovecot-uidlist").read_text().splitlines()
    assert lines[0].startswith("3 V") and " G" in lines[0]
    assert [line.split(" :")[0] for line in lines[1:]] == ["1", "2", "3"]
    raw = Path(store.root, "dovecot-uidlist").read_bytes()
    parsed = parse_uidlist(raw)
    # Records are appended in place as Dovecot does, so the header's N may lag the last UID.
    assert parsed.nextuid == 4
    body = raw.partition(b"\n")[2]
    assert format_uidlist(parsed).partition(b"\n")[2] == body  # appended == formatted
    db = sqlite3.connect(os.path.join(store.root, "mailsuite-state.sqlite"))
    hashes = dict(db.execute("SELECT uid, sha1 FROM hashes"))
    assert hashes[2] == hashlib.sha1(msg(1)).hexdigest()


def test_append_from_file_with_flags_and_date(store: MaildirStore) -> None:
    """A streamed append with flags lands in cur/ with the letters and the given INTERNALDATE."""
    mbox = store.open_mailbox("INBOX")
    uid = mbox.append(io.BytesIO(msg(7)), ["\\Seen", "\\Flagged", "$Work"], 1_000_000_000.0)
    [name] = os.listdir(os.path.join(store.root, "cur"))
    assert name.endswith(":2,FSa")
    [rec] = mbox.snapshot().messages
    assert rec.uid == uid and rec.flags == {"\\Seen", "\\Flagged", "$Work"}
    assert rec.internal_date == 1_000_000_000.0
    assert rec.rfc822_size == len(msg(7)) + msg(7).count(b"\n")
    assert Path(store.root, "dovecot-keywords").read_text() == "0 $Work\n"


def test_recent_is_given_to_exactly_one_session(store: MaildirStore) -> None:
    """A new message is \\Recent in the first session that sees it and in no other."""
    a = store.open_mailbox("INBOX")
    uid = a.append(msg(1))
    b = store.open_mailbox("INBOX")
    assert a.snapshot().recent_uids == {uid}
    assert b.snapshot().recent_uids == frozenset()
    assert a.snapshot().recent_uids == {uid}
