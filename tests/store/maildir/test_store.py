"""Mailbox management: special-use folders, create/delete/rename, subscriptions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mailsuite.errors import ErrorKind, MailError
from mailsuite.store.maildir import MaildirStore, open_user_store

from .conftest import msg

SPECIAL = {"Drafts": "\\Drafts", "Sent": "\\Sent", "Trash": "\\Trash"}


def test_special_use_folders_are_created_on_first_access(tmp_path: Path) -> None:
    """The configured special-use folders exist, are subscribed and listed with their use."""
    store = open_user_store(str(tmp_path / "s"), user="s", special_use=SPECIAL)
    infos = {i.name: i for i in store.list_mailboxes()}
    assert set(infos) == {"INBOX", "Drafts", "Sent", "Trash"}
    assert infos["Sent"].special_use == "\\Sent" and "\\Sent" in infos["Sent"].attributes
    assert os.path.isfile(os.path.join(store.root, ".Trash", "maildirfolder"))
    assert set(store.subscriptions()) == {"Drafts", "Sent", "Trash"}
    store.delete_mailbox("Drafts")
    again = open_user_store(str(tmp_path / "s"), user="s", special_use=SPECIAL)
    assert "Drafts" in {i.name for i in again.list_mailboxes()}


def test_create_list_children_and_noselect_parents(store: MaildirStore) -> None:
    """Folders nest with '.'; a parent that has no directory is listed \\Noselect."""
    store.create_mailbox("Work.2024.Q1")
    store.create_mailbox("Work")
    store.create_mailbox("Späße")
    infos = {i.name: i.attributes for i in store.list_mailboxes()}
    assert infos["Work.2024"] >= {"\\Noselect", "\\HasChildren"}
    assert "\\HasChildren" in infos["Work"] and "\\Noselect" not in infos["Work"]
    assert "\\HasNoChildren" in infos["Work.2024.Q1"]
    assert "Späße" in infos
    assert os.path.isdir(os.path.join(store.root, ".Sp&AOQA3w-e"))
    with pytest.raises(MailError) as info:
        store.create_mailbox("work.2024.Q1".replace("work", "Work"))
    assert info.value.kind is ErrorKind.EXISTS
    with pytest.raises(MailError) as info:
        store.open_mailbox("Work.2024")
    assert info.value.kind is ErrorKind.NOT_FOUND


def test_hostile_names_never_touch_the_disk(store: MaildirStore, tmp_path: Path) -> None:
    """CREATE, RENAME, DELETE and SELECT with hostile names fail with PARAMS and change nothing."""
    before = sorted(os.listdir(tmp_path))
    for bad in ["../evil", "a/b", "..", "x\x00y", ".hidden", "a..b"]:
        for call in (
            lambda bad=bad: store.create_mailbox(bad),
            lambda bad=bad: store.open_mailbox(bad),
            lambda bad=bad: store.delete_mailbox(bad),
            lambda bad=bad: store.rename_mailbox("INBOX", bad),
            lambda bad=bad: store.subscribe(bad),
        ):
            with pytest.raises(MailError) as info:
                call()
            assert info.value.kind is ErrorKind.PARAMS
    assert sorted(os.listdir(tmp_path)) == before
    assert [i.name for i in store.list_mailboxes()] == ["INBOX"]


def test_rename_moves_children_and_inbox_rename_moves_messages(store: MaildirStore) -> None:
    """RENAME takes the children along; RENAME INBOX moves its messages into the new folder."""
    store.create_mailbox("A")
    store.create_mailbox("A.B")
    store.open_mailbox("A.B").append(msg(1))
    store.rename_mailbox("A", "Z")
    names = [i.name for i in store.list_mailboxes()]
    assert "Z.B" in names and "A" not in names and "A.B" not in names
    assert len(store.open_mailbox("Z.B").snapshot().messages) == 1
    with pytest.raises(MailError):
        store.rename_mailbox("Z", "Z.B.C")
    inbox = store.open_mailbox("INBOX")
    inbox.append(msg(2))
    store.rename_mailbox("INBOX", "Old")
    assert inbox.snapshot().messages == ()
    assert len(store.open_mailbox("Old").snapshot().messages) == 1


def test_delete_mailbox_rules(store: MaildirStore) -> None:
    """INBOX cannot be deleted; a deleted mailbox is gone but its children stay."""
    with pytest.raises(MailError) as info:
        store.delete_mailbox("INBOX")
    assert info.value.kind is ErrorKind.NOT_POSSIBLE
    store.create_mailbox("P")
    store.create_mailbox("P.C")
    store.delete_mailbox("P")
    infos = {i.name: i.attributes for i in store.list_mailboxes()}
    assert "\\Noselect" in infos["P"] and "P.C" in infos
    with pytest.raises(MailError) as info:
        store.delete_mailbox("Nope")
    assert info.value.kind is ErrorKind.NOT_FOUND


def test_subscriptions_file_is_dovecot_version_2(store: MaildirStore) -> None:
    """Subscriptions are written as Dovecot writes them (V 2, TAB levels, modified UTF-7)."""
    store.subscribe("Foo.Bär")
    store.subscribe("INBOX")
    store.subscribe("Foo.Bär")
    assert Path(store.root, "subscriptions").read_text() == "V\t2\n\nFoo\tB&AOQ-r\nINBOX\n"
    store.unsubscribe("INBOX")
    assert store.subscriptions() == ["Foo.Bär"]
    Path(store.root, "subscriptions").write_text("Old.Style\nSent\n")
    assert store.subscriptions() == ["Old.Style", "Sent"]


def test_mailbox_deleted_under_an_open_session(store: MaildirStore) -> None:
    """A session whose mailbox was deleted by another gets NOT_FOUND, not an internal error."""
    store.create_mailbox("Gone")
    mbox = store.open_mailbox("Gone")
    mbox.append(msg(1))
    store.delete_mailbox("Gone")
    with pytest.raises(MailError) as info:
        mbox.snapshot()
    assert info.value.kind is ErrorKind.NOT_FOUND
