"""Quota: usage kept current in maildirsize, limits enforced, recalculable from the files."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailsuite.errors import ErrorKind, MailError
from mailsuite.store.api import FlagMode
from mailsuite.store.maildir import open_user_store

from .conftest import msg


def test_usage_follows_append_copy_expunge(tmp_path: Path) -> None:
    """Bytes and message count follow every append, copy and expunge."""
    store = open_user_store(str(tmp_path / "q"), user="q")
    store.create_mailbox("Keep")
    inbox, keep = store.open_mailbox("INBOX"), store.open_mailbox("Keep")
    a = inbox.append(msg(1))
    inbox.append(msg(22))
    size = len(msg(1)) + len(msg(22))
    assert (store.quota().storage_bytes, store.quota().messages) == (size, 2)
    inbox.copy([a], keep)
    assert store.quota().messages == 3
    inbox.set_flags([a], ["\\Deleted"], FlagMode.ADD)
    inbox.expunge()
    assert (store.quota().storage_bytes, store.quota().messages) == (size, 2)
    assert store.recalculate_quota().storage_bytes == size


def test_over_quota_append_is_refused(tmp_path: Path) -> None:
    """An append past the storage or message limit fails with NO_QUOTA and saves nothing."""
    store = open_user_store(
        str(tmp_path / "q"), user="q", quota_storage_bytes=300, quota_messages=3
    )
    mbox = store.open_mailbox("INBOX")
    mbox.append(msg(1))
    with pytest.raises(MailError) as info:
        mbox.append(b"x" * 300)
    assert info.value.kind is ErrorKind.NO_QUOTA
    mbox.append(msg(2))
    assert store.quota().messages == 2
    q = store.quota()
    assert (q.storage_limit_bytes, q.message_limit) == (300, 3)
    assert Path(store.root, "maildirsize").read_text().splitlines()[0] == "300S,3C"
    assert [p.name for p in Path(store.root, "tmp").iterdir()] == []


def test_damaged_maildirsize_is_recalculated(tmp_path: Path) -> None:
    """A torn or nonsensical maildirsize is recalculated from the message files."""
    store = open_user_store(str(tmp_path / "q"), user="q")
    store.open_mailbox("INBOX").append(msg(1))
    Path(store.root, "maildirsize").write_text("0S\n-5000 -3\n12 x")
    assert (store.quota().storage_bytes, store.quota().messages) == (len(msg(1)), 1)


def test_maildirsize_stays_short(tmp_path: Path) -> None:
    """Past 5120 bytes the file is recalculated into one line, as the Maildir++ spec asks."""
    store = open_user_store(str(tmp_path / "q"), user="q", fsync=False)
    mbox = store.open_mailbox("INBOX")
    for i in range(400):
        mbox.append(msg(i))
    size = Path(store.root, "maildirsize").stat().st_size
    assert size <= 5120 + 64
    total = sum(len(msg(i)) for i in range(400))
    assert (store.quota().storage_bytes, store.quota().messages) == (total, 400)
