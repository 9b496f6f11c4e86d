"""The shared mailbox core: own changes applied without reading them back, cheap reopening."""

from __future__ import annotations

import os
import time
from pathlib import Path

from mailsuite.store.api import FlagMode
from mailsuite.store.maildir import MaildirStore
from mailsuite.store.maildir.scan import TRUST_AFTER_S
from mailsuite.store.maildir.state import StateDB

from .conftest import msg, other_process_mailbox


def _statements(mbox) -> list[str]:  # type: ignore[no-untyped-def]
    """Every SQL statement the core's index connection runs from now on."""
    seen: list[str] = []
    mbox.core.index.conn.set_trace_callback(seen.append)
    return seen


def test_an_append_is_taken_into_memory_without_reading_the_index_back(
    store: MaildirStore,
) -> None:
    """APPEND writes its record once and never SELECTs message records again."""
    mbox = store.open_mailbox("INBOX")
    mbox.append(msg(1))
    mbox.snapshot()
    seen = _statements(mbox)
    uid = mbox.append(msg(2), ["\\Flagged"])
    assert not [s for s in seen if s.startswith("SELECT") and "FROM msgs" in s]
    assert sum(s == "BEGIN IMMEDIATE" for s in seen) == 1
    mine = mbox.snapshot()
    theirs = other_process_mailbox(store, readonly=True).snapshot()
    assert mine.messages == theirs.messages and mine.messages[-1].uid == uid
    assert (mine.uidnext, mine.highestmodseq) == (theirs.uidnext, theirs.highestmodseq)


def test_a_change_not_made_from_the_latest_state_is_read_back(store: MaildirStore) -> None:
    """When the index moved since the last refresh, committing re-reads it instead of guessing."""
    mbox = store.open_mailbox("INBOX")
    mbox.append(msg(1))
    mbox.snapshot()
    other = other_process_mailbox(store)
    theirs = other.append(msg(2))
    core = mbox.core
    row = core.rows[1]
    with core.locked():
        # Deliberately no refresh: the guard inside the write transaction must notice.
        ms = other.core.highestmodseq + 1
        core.commit_rows([row._replace(flags="\\Seen", modseq=ms)], [], ms)
    assert theirs in core.rows and core.highestmodseq == ms
    assert mbox.snapshot().messages == other_process_mailbox(store).snapshot().messages


def test_snapshot_and_status_do_one_sync_and_no_write_when_nothing_changed(
    store: MaildirStore,
) -> None:
    """An unchanged mailbox costs one SELECT of the meta table per snapshot and no transaction."""
    mbox = store.open_mailbox("INBOX")
    mbox.append(msg(1))
    # Directory stamps this fresh are listed until they are old enough to trust (.scan).
    mbox.core.clock = lambda: time.time() + 2 * TRUST_AFTER_S
    mbox.snapshot()  # moves the message to cur/ (our own change)
    mbox.snapshot()  # the one confirming listing of our own changes
    seen = _statements(mbox)
    mbox.snapshot()
    mbox.status()
    assert seen == ["SELECT k, v FROM meta"] * 2


def test_a_flag_change_under_the_known_ceiling_writes_no_state(store: MaildirStore) -> None:
    """A STORE whose MODSEQ is below the reserved ceiling runs nothing on the state database."""
    mbox = store.open_mailbox("INBOX")
    mbox.append(msg(1))
    mbox.snapshot()
    seen: list[str] = []
    mbox.core.state.conn.set_trace_callback(seen.append)
    mbox.set_flags([1], ["\\Seen"], FlagMode.ADD)
    assert seen == []


def test_reopening_a_loaded_mailbox_syncs_once_and_still_sees_outside_changes(
    store: MaildirStore,
) -> None:
    """A second open of a mailbox loaded in this process adds no sync, yet misses nothing."""
    first = store.open_mailbox("INBOX")
    first.append(msg(1))
    first.snapshot()
    first.close()
    Path(store.root, "new", "1700000000.ext.host").write_bytes(msg(2))  # another agent
    again = store.open_mailbox("INBOX")
    seen = _statements(again)
    assert seen == []  # opening alone touched nothing
    snap = again.snapshot()
    assert [m.filename for m in snap.messages][-1] == "1700000000.ext.host"


def test_a_mailbox_removed_under_a_loaded_core_starts_over_on_the_next_open(
    store: MaildirStore,
) -> None:
    """Opening after the whole Maildir was removed syncs again: UIDs restart from 1, none lost."""
    import shutil

    from mailsuite.store.maildir import open_user_store

    mbox = store.open_mailbox("INBOX")
    for i in range(3):
        mbox.append(msg(i))
    mbox.snapshot()
    mbox.close()
    shutil.rmtree(store.root)
    again = open_user_store(store.root, user="alice").open_mailbox("INBOX")
    assert again.append(msg(9)) == 1
    assert [m.uid for m in again.snapshot().messages] == [1]
    # The MODSEQ ceiling went to the new state file, not to the removed one.
    assert StateDB(again.core.state.path).modseq_ceiling() >= again.snapshot().highestmodseq


def test_status_counts_follow_every_change_while_counted_once_per_change(
    store: MaildirStore,
) -> None:
    """STATUS stays exact across our and others' changes though it is counted once per change."""
    mbox = store.open_mailbox("INBOX")
    for i in range(4):
        mbox.append(msg(i))
    first = mbox.status()
    assert (first.messages, first.unseen) == (4, 4)
    assert mbox.core.status_memo is not None and mbox.status() == first  # from the memo
    mbox.set_flags([1, 2], ["\\Seen"], FlagMode.ADD)
    assert mbox.status().unseen == 2
    other = other_process_mailbox(store)
    other.set_flags([3], ["\\Seen"], FlagMode.ADD)
    other.append(msg(9))
    after = mbox.status()
    assert (after.messages, after.unseen) == (5, 2)
    assert after.size == sum(m.rfc822_size for m in mbox.snapshot().messages)


def test_expunge_finds_messages_deleted_by_others_and_only_those(store: MaildirStore) -> None:
    """\\Deleted set elsewhere or by mutt (T in the name) is expunged; a cleared one is not."""
    mbox = store.open_mailbox("INBOX")
    for i in range(5):
        mbox.append(msg(i))
    mbox.snapshot()
    other_process_mailbox(store).set_flags([2], ["\\Deleted"], FlagMode.ADD)
    mbox.set_flags([3], ["\\Deleted"], FlagMode.ADD)
    mbox.set_flags([3], ["\\Deleted"], FlagMode.REMOVE)
    cur = os.path.join(store.root, "cur")
    name = next(n for n in os.listdir(cur) if n.startswith(mbox.snapshot().messages[3].filename))
    os.rename(os.path.join(cur, name), os.path.join(cur, name.partition(":")[0] + ":2,ST"))
    assert mbox.expunge() == [2, 4]
    assert [m.uid for m in mbox.snapshot().messages] == [1, 3, 5]
