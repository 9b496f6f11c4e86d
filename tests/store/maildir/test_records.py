"""Snapshots patched after a change equal snapshots built from nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mailsuite.store.api import FlagMode
from mailsuite.store.maildir import MaildirStore

from .conftest import msg, other_process_mailbox


def fresh_records(store: MaildirStore):  # type: ignore[no-untyped-def]
    """The snapshot as another process builds it from nothing (its own core)."""
    return other_process_mailbox(store, readonly=True).snapshot()


def test_patched_snapshots_match_fresh_ones_after_every_kind_of_change(
    store: MaildirStore,
) -> None:
    """After appends, flag changes, expunges and external deliveries the records are exact."""
    mbox = store.open_mailbox("INBOX")
    steps = [
        lambda: [mbox.append(msg(i)) for i in range(6)],
        lambda: mbox.set_flags([2, 4], ["\\Seen"], FlagMode.ADD),
        lambda: mbox.append(msg(7), ["\\Flagged"]),
        lambda: mbox.set_flags([3], ["\\Deleted"], FlagMode.ADD),
        lambda: mbox.expunge(),
        lambda: Path(store.root, "new", "5.ext.host").write_bytes(msg(8)),
        lambda: mbox.set_flags([1, 7], ["$Work"], FlagMode.ADD),
        lambda: (
            os.rename(
                os.path.join(store.root, "new", "5.ext.host"),
                os.path.join(store.root, "cur", "5.ext.host:2,S"),
            )
            if os.path.exists(os.path.join(store.root, "new", "5.ext.host"))
            else None
        ),
    ]
    for step in steps:
        step()
        mbox.core.sync(force=True)
        got = mbox.snapshot()
        want = fresh_records(store)
        assert got.messages == want.messages
        assert [r.uid for r in got.messages] == sorted(r.uid for r in got.messages)


def test_flag_change_and_append_patch_instead_of_rebuilding(
    store: MaildirStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A STORE, an APPEND or an EXPUNGE does not rebuild every record of the mailbox."""
    from mailsuite.store.maildir import records

    mbox = store.open_mailbox("INBOX")
    for i in range(5):
        mbox.append(msg(i))
    mbox.snapshot()
    rebuilt: list[int] = []
    real = records._rebuilt

    def spy(core):  # type: ignore[no-untyped-def]
        if core is mbox.core:
            rebuilt.append(1)
        return real(core)

    monkeypatch.setattr(records, "_rebuilt", spy)
    mbox.set_flags([3], ["\\Answered"], FlagMode.ADD)
    mbox.append(msg(9))
    snap = mbox.snapshot()
    assert rebuilt == []
    assert snap.messages == fresh_records(store).messages
    mbox.set_flags([2], ["\\Deleted"], FlagMode.ADD)
    mbox.expunge()
    assert mbox.snapshot().messages == fresh_records(store).messages
    top = mbox.snapshot().messages[-1].uid
    mbox.set_flags([1, top], ["\\Deleted"], FlagMode.ADD)
    mbox.expunge()
    mbox.append(msg(10))
    assert mbox.snapshot().messages == fresh_records(store).messages
    assert rebuilt == []
