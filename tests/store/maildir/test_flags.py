"""Flags and keywords live in file names; copy, move, expunge and VANISHED."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mailsuite.errors import ErrorKind, MailError
from mailsuite.store.api import FlagMode
from mailsuite.store.maildir import MaildirStore

from .conftest import msg


def names_in(root: str, sub: str = "cur") -> list[str]:
    return sorted(os.listdir(os.path.join(root, sub)))


def test_flags_and_keywords_round_trip_through_file_names(store: MaildirStore) -> None:
    """Setting flags renames the file with sorted letters; reading the name gives them back."""
    mbox = store.open_mailbox("INBOX")
    uid = mbox.append(msg(1))
    res = mbox.set_flags([uid], ["\\Seen", "\\Answered", "$Forwarded", "Junk"], FlagMode.ADD)
    assert [r.uid for r in res.changed] == [uid]
    [name] = names_in(store.root)
    assert name.endswith(":2,RSab")
    assert Path(store.root, "dovecot-keywords").read_text() == "0 $Forwarded\n1 Junk\n"
    mbox.set_flags([uid], ["\\Answered", "$forwarded"], FlagMode.REMOVE)
    [name] = names_in(store.root)
    assert name.endswith(":2,Sb")
    again = store.open_mailbox("INBOX").snapshot().messages[0]
    assert again.flags == {"\\Seen", "Junk"}


def test_replace_mode_and_unknown_letters_survive(store: MaildirStore) -> None:
    """STORE FLAGS replaces the IMAP flags but keeps a letter without IMAP meaning (P)."""
    mbox = store.open_mailbox("INBOX")
    uid = mbox.append(msg(1), ["\\Seen"])
    [name] = names_in(store.root)
    os.rename(os.path.join(store.root, "cur", name), os.path.join(store.root, "cur", name + "P"))
    mbox.snapshot()
    mbox.set_flags([uid], ["\\Flagged"], FlagMode.REPLACE)
    [name] = names_in(store.root)
    assert name.endswith(":2,FP")


def test_unchanged_since_reports_modified(store: MaildirStore) -> None:
    """A message changed after UNCHANGEDSINCE is reported MODIFIED and left alone (RFC 7162)."""
    mbox = store.open_mailbox("INBOX")
    a, b = mbox.append(msg(1)), mbox.append(msg(2))
    ms = mbox.snapshot().highestmodseq
    mbox.set_flags([b], ["\\Seen"], FlagMode.ADD)
    res = mbox.set_flags([a, b], ["\\Flagged"], FlagMode.ADD, unchanged_since=ms)
    assert res.modified == (b,)
    assert [r.uid for r in res.changed] == [a]
    assert res.changed[0].modseq > ms


@pytest.mark.parametrize("bad", ["\\Bogus", "with space", "paren(", "", 'quo"te', "é"])
def test_bad_flags_are_refused(store: MaildirStore, bad: str) -> None:
    """Unknown system flags and keywords that are not atoms are refused with PARAMS."""
    mbox = store.open_mailbox("INBOX")
    uid = mbox.append(msg(1))
    with pytest.raises(MailError) as info:
        mbox.set_flags([uid], [bad], FlagMode.ADD)
    assert info.value.kind is ErrorKind.PARAMS


def test_twenty_seventh_keyword_is_refused(store: MaildirStore) -> None:
    """Only 26 keyword letters exist; the 27th keyword is refused with LIMIT."""
    mbox = store.open_mailbox("INBOX")
    uid = mbox.append(msg(1))
    mbox.set_flags([uid], [f"kw{i}" for i in range(26)], FlagMode.ADD)
    with pytest.raises(MailError) as info:
        mbox.set_flags([uid], ["one-too-many"], FlagMode.ADD)
    assert info.value.kind is ErrorKind.LIMIT


def test_copy_hard_links_and_keeps_flags(store: MaildirStore) -> None:
    """COPY links the same file into the destination with its flags and gives new UIDs."""
    store.create_mailbox("Archive")
    src, dst = store.open_mailbox("INBOX"), store.open_mailbox("Archive")
    src.append(msg(1))
    uid = src.append(msg(2), ["\\Seen", "Work"])
    res = src.copy([uid, 99], dst)
    assert res.pairs == ((uid, 1),)
    assert res.uidvalidity == dst.snapshot().uidvalidity
    [rec] = dst.snapshot().messages
    assert rec.flags == {"\\Seen", "Work"}
    [name] = names_in(os.path.join(store.root, ".Archive"))
    assert os.stat(os.path.join(store.root, ".Archive", "cur", name)).st_nlink == 2
    with dst.open_message(1) as f:
        assert f.read() == msg(2)
    assert src.snapshot().messages[1].uid == uid


def test_move_expunges_source_and_reports_vanished(store: MaildirStore) -> None:
    """MOVE copies, then removes the source messages, which show up in VANISHED."""
    store.create_mailbox("Old")
    src, dst = store.open_mailbox("INBOX"), store.open_mailbox("Old")
    uids = [src.append(msg(i)) for i in range(3)]
    ms = src.snapshot().highestmodseq
    res = src.move(uids[:2], dst)
    assert [s for s, _ in res.pairs] == uids[:2]
    assert [r.uid for r in src.snapshot().messages] == [uids[2]]
    assert src.vanished_since(ms) == uids[:2]
    assert len(dst.snapshot().messages) == 2
    assert store.quota().messages == 3


def test_expunge_removes_only_deleted_and_only_given(store: MaildirStore) -> None:
    """EXPUNGE removes \\Deleted messages (only those listed for UID EXPUNGE); UIDs not reused."""
    mbox = store.open_mailbox("INBOX")
    uids = [mbox.append(msg(i)) for i in range(4)]
    mbox.set_flags(uids[:3], ["\\Deleted"], FlagMode.ADD)
    assert mbox.expunge([uids[0], uids[3]]) == [uids[0]]
    assert mbox.expunge() == uids[1:3]
    assert mbox.vanished_since(0) == uids[:3]
    assert mbox.append(msg(9)) == 5
    assert [r.uid for r in mbox.snapshot().messages] == [uids[3], 5]


def test_readonly_mailbox_refuses_changes(store: MaildirStore) -> None:
    """A mailbox opened read-only (EXAMINE) refuses appends and flag changes with PERM."""
    store.open_mailbox("INBOX").append(msg(1))
    ro = store.open_mailbox("INBOX", readonly=True)
    with pytest.raises(MailError) as info:
        ro.set_flags([1], ["\\Seen"], FlagMode.ADD)
    assert info.value.kind is ErrorKind.PERM
    assert ro.snapshot().recent_uids == frozenset()


def test_open_message_after_external_rename(store: MaildirStore) -> None:
    """A message renamed by another agent is still readable; a removed one says EXPUNGED."""
    mbox = store.open_mailbox("INBOX")
    uid = mbox.append(msg(1))
    [name] = names_in(store.root, "new")
    os.rename(os.path.join(store.root, "new", name), os.path.join(store.root, "cur", name + ":2,S"))
    with mbox.open_message(uid) as f:
        assert f.read() == msg(1)
    os.unlink(os.path.join(store.root, "cur", name + ":2,S"))
    with pytest.raises(MailError) as info:
        mbox.open_message(uid)
    assert info.value.kind is ErrorKind.EXPUNGED


def test_expunge_of_a_file_renamed_since_the_last_sync(store: MaildirStore) -> None:
    """A message renamed by mutt after our last sync is still removed, never resurrected."""
    mbox = store.open_mailbox("INBOX")
    uid = mbox.append(msg(1), ["\\Deleted"])
    mbox.snapshot()
    [name] = names_in(store.root)
    os.rename(os.path.join(store.root, "cur", name), os.path.join(store.root, "cur", name + "F"))
    with mbox.core.locked():
        mbox.core.refresh()
        assert mbox._remove([mbox.core.rows[uid]]) == [uid]
    assert names_in(store.root) == []
    assert mbox.snapshot().messages == ()


def test_store_on_a_file_renamed_since_the_last_sync(
    store: MaildirStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flag change racing mutt's rename of the same file still applies, keeping mutt's flag."""
    mbox = store.open_mailbox("INBOX")
    uid = mbox.append(msg(1), ["\\Seen"])
    mbox.snapshot()
    [name] = names_in(store.root)
    cur = os.path.join(store.root, "cur")
    real_rename = os.rename
    raced: list[str] = []

    def racing_rename(src: str, dst: str) -> None:
        if not raced and src == os.path.join(cur, name):
            raced.append(src)  # mutt wins the race: it renames the file first
            real_rename(src, os.path.join(cur, name + "F"))
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", racing_rename)
    res = mbox.set_flags([uid], ["\\Answered"], FlagMode.ADD)
    monkeypatch.undo()
    assert raced
    assert [r.flags for r in res.changed] == [{"\\Seen", "\\Flagged", "\\Answered"}]
    [final] = names_in(store.root)
    assert final.endswith(":2,FRS")


def test_copy_falls_back_to_a_real_copy_without_hard_links(
    store: MaildirStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where hard links fail (EXDEV), COPY writes a fsynced copy through tmp/ instead."""
    import errno

    def no_link(src: str, dst: str) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    store.create_mailbox("Other")
    src, dst = store.open_mailbox("INBOX"), store.open_mailbox("Other")
    uid = src.append(msg(3), ["\\Seen"], 1_200_000_000.0)
    monkeypatch.setattr(os, "link", no_link)
    res = src.copy([uid], dst)
    [rec] = dst.snapshot().messages
    assert res.pairs == ((uid, rec.uid),)
    assert rec.internal_date == 1_200_000_000.0 and rec.flags == {"\\Seen"}
    [name] = names_in(os.path.join(store.root, ".Other"))
    assert os.stat(os.path.join(store.root, ".Other", "cur", name)).st_nlink == 1
    assert os.listdir(os.path.join(store.root, ".Other", "tmp")) == []
    with dst.open_message(rec.uid) as f:
        assert f.read() == msg(3)
