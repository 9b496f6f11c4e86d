"""Our own changes need no directory listing; other agents' changes are still picked up."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from mailsuite.store.api import FlagMode
from mailsuite.store.maildir import MaildirStore, sync
from mailsuite.store.maildir.scan import TRUST_AFTER_S

from .conftest import msg, other_process_mailbox


def age_dirs(root: str) -> None:
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


def settled(store: MaildirStore, n: int = 4, flags: list[str] | None = None):  # type: ignore[no-untyped-def]
    """A mailbox with ``n`` messages in cur/ whose directory stamps are trusted."""
    mbox = store.open_mailbox("INBOX")
    for i in range(n):
        mbox.append(msg(i), flags if flags is not None else ["\\Seen"])
    age_dirs(store.root)
    mbox.core.sync(force=True)  # a listing of old directories: trusted stamps
    return mbox


def same_tick(root: str, sub: str, mtime_ns: int) -> None:
    """Put a directory's mtime back, as a coarse file-system clock would have left it."""
    os.utime(os.path.join(root, sub), ns=(mtime_ns, mtime_ns))


def later(mbox, seconds: float = TRUST_AFTER_S + 0.5) -> None:  # type: ignore[no-untyped-def]
    """Move the mailbox's wall clock past the mtime-trust window."""
    mbox.core.clock = lambda: time.time() + seconds


def rename_flags(root: str, name_part: str, letters: str) -> str:
    cur = os.path.join(root, "cur")
    [name] = [n for n in os.listdir(cur) if n.startswith(name_part)]
    new = name.partition(":")[0] + ":2," + letters
    os.rename(os.path.join(cur, name), os.path.join(cur, new))
    return new


def test_own_flag_change_needs_no_listing(
    store: MaildirStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After our own STORE, the next snapshot lists no directory and shows the new flags."""
    mbox = settled(store)
    listings = count_listings(monkeypatch)
    mbox.set_flags([2], ["\\Flagged"], FlagMode.ADD)
    snap = mbox.snapshot()
    assert listings == []
    assert snap.messages[1].flags == {"\\Seen", "\\Flagged"}


def test_own_append_expunge_copy_move_need_no_listing(
    store: MaildirStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Our own appends (new/ and cur/), expunges, copies and moves are followed by no listing."""
    store.create_mailbox("Archive")
    mbox = settled(store)
    dest = store.open_mailbox("Archive")
    dest.append(msg(9))
    age_dirs(os.path.join(store.root, ".Archive"))
    dest.core.sync(force=True)
    listings = count_listings(monkeypatch)
    mbox.append(msg(10))
    mbox.append(msg(11), ["\\Answered"])
    mbox.set_flags([1], ["\\Deleted"], FlagMode.ADD)
    mbox.expunge()
    mbox.copy([2], dest)
    mbox.move([3], dest)
    snap, dsnap = mbox.snapshot(), dest.snapshot()
    assert listings == []
    assert [r.uid for r in snap.messages] == [2, 4, 5, 6]
    assert len(dsnap.messages) == 3


def test_other_process_sees_own_change_without_listing(
    store: MaildirStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another store instance (another process) picks our change up from the index alone."""
    mbox = settled(store)
    other = other_process_mailbox(store, readonly=False)
    other.snapshot()
    listings = count_listings(monkeypatch)
    mbox.set_flags([1], ["\\Answered"], FlagMode.ADD)
    assert other.snapshot().messages[0].flags == {"\\Seen", "\\Answered"}
    assert listings == []


def test_external_rename_after_own_change_in_later_tick_is_seen_at_once(
    store: MaildirStore,
) -> None:
    """mutt renaming a file a clock tick after our STORE is seen at the next snapshot."""
    mbox = settled(store)
    mbox.set_flags([2], ["\\Flagged"], FlagMode.ADD)
    own = os.stat(os.path.join(store.root, "cur")).st_mtime_ns
    base = mbox.snapshot().messages[2].filename
    rename_flags(store.root, base, "ST")
    same_tick(store.root, "cur", own + 4_000_000)  # the next 4 ms jiffy
    snap = mbox.snapshot()
    assert snap.messages[2].flags == {"\\Seen", "\\Deleted"}
    assert snap.messages[1].flags == {"\\Seen", "\\Flagged"}


def test_external_rename_in_same_tick_as_own_change_is_seen_after_window(
    store: MaildirStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mutt rename hidden in the clock tick of our own STORE is found by one later listing."""
    mbox = settled(store)
    mbox.set_flags([2], ["\\Flagged"], FlagMode.ADD)
    own = os.stat(os.path.join(store.root, "cur")).st_mtime_ns
    base = mbox.snapshot().messages[2].filename
    rename_flags(store.root, base, "ST")
    same_tick(store.root, "cur", own)
    later(mbox)
    listings = count_listings(monkeypatch)
    snap = mbox.snapshot()
    assert snap.messages[2].flags == {"\\Seen", "\\Deleted"}
    mbox.snapshot()
    assert listings == ["cur"]  # once; the directory is trusted again afterwards


def test_external_change_before_own_change_in_same_tick_is_seen_at_once(
    store: MaildirStore,
) -> None:
    """An external rename just before our own STORE (same tick) is seen at the next snapshot."""
    mbox = settled(store)
    base = mbox.snapshot().messages[3].filename
    rename_flags(store.root, base, "FS")
    mbox.set_flags([1], ["\\Answered"], FlagMode.ADD)
    snap = mbox.snapshot()
    assert snap.messages[3].flags == {"\\Seen", "\\Flagged"}
    assert snap.messages[0].flags == {"\\Seen", "\\Answered"}


def test_file_dropped_into_new_right_after_own_append_is_seen(store: MaildirStore) -> None:
    """A delivery by another agent into new/ in the same second as our append is picked up."""
    mbox = settled(store, flags=[])
    mbox.append(msg(20))
    own = os.stat(os.path.join(store.root, "new")).st_mtime_ns
    Path(store.root, "tmp", "777.ext.host").write_bytes(msg(21))
    os.rename(os.path.join(store.root, "tmp", "777.ext.host"),
              os.path.join(store.root, "new", "777.ext.host"))  # fmt: skip
    same_tick(store.root, "new", own + 1_000_000)
    assert mbox.snapshot().messages[-1].filename == "777.ext.host"
    # And hidden in the very tick of our append: found once the window has passed.
    mbox.append(msg(22))
    own = os.stat(os.path.join(store.root, "new")).st_mtime_ns
    Path(store.root, "tmp", "778.ext.host").write_bytes(msg(23))
    os.rename(os.path.join(store.root, "tmp", "778.ext.host"),
              os.path.join(store.root, "new", "778.ext.host"))  # fmt: skip
    same_tick(store.root, "new", own)
    later(mbox)
    assert mbox.snapshot().messages[-1].filename == "778.ext.host"


def test_file_removed_by_hand_right_after_own_expunge_is_vanished(store: MaildirStore) -> None:
    """A file deleted by hand in the same second as our expunge becomes VANISHED too."""
    mbox = settled(store)
    ms = mbox.snapshot().highestmodseq
    mbox.set_flags([1], ["\\Deleted"], FlagMode.ADD)
    mbox.expunge()
    own = os.stat(os.path.join(store.root, "cur")).st_mtime_ns
    victim = mbox.snapshot().messages[0].filename
    [name] = [n for n in os.listdir(os.path.join(store.root, "cur")) if n.startswith(victim)]
    os.unlink(os.path.join(store.root, "cur", name))
    same_tick(store.root, "cur", own)
    later(mbox)
    snap = mbox.snapshot()
    assert [r.uid for r in snap.messages] == [3, 4]
    assert mbox.vanished_since(ms) == [1, 2]


def test_busy_mailbox_is_confirmed_once_per_window_not_at_every_sync(
    store: MaildirStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With our own changes every second, cur/ is listed once per window, not after each."""
    mbox = settled(store)
    mbox.set_flags([1], ["\\Flagged"], FlagMode.ADD)
    # Pretend the first unconfirmed own change was 3 s ago, the latest one just now.
    idx = mbox.core.index
    raw, _, first = idx.get_meta("stamp_cur")[4:].rpartition(":")  # type: ignore[index]
    idx.begin()
    idx.set_meta("stamp_cur", f"own:{raw}:{int(first) - 3_000_000_000}")
    idx.commit()
    listings = count_listings(monkeypatch)
    mbox.snapshot()
    assert listings == ["cur"]  # the confirming listing
    mbox.set_flags([2], ["\\Flagged"], FlagMode.ADD)
    mbox.snapshot()
    mbox.set_flags([3], ["\\Answered"], FlagMode.ADD)
    snap = mbox.snapshot()
    assert listings == ["cur"]
    assert [sorted(r.flags) for r in snap.messages[:3]] == [
        ["\\Flagged", "\\Seen"],
        ["\\Flagged", "\\Seen"],
        ["\\Answered", "\\Seen"],
    ]
