"""Many writers on one mailbox: processes and threads never share a UID or lose a message."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

from mailsuite.store.api import FlagMode
from mailsuite.store.maildir import MaildirStore, open_user_store
from mailsuite.store.maildir.uidlist import parse_uidlist

WRITER = """
import json, sys
from mailsuite.store.maildir import open_user_store
root, tag, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
mbox = open_user_store(root, user="alice").open_mailbox("INBOX")
uids = []
for i in range(n):
    uids.append(mbox.append(f"Subject: {tag}-{i}\\n\\nbody {tag} {i}\\n".encode()))
    if i % 5 == 0:
        mbox.snapshot()
print(json.dumps(uids))
"""

PER_WRITER = 40


def subjects(mbox) -> dict[int, str]:  # type: ignore[no-untyped-def]
    out = {}
    for r in mbox.snapshot().messages:
        with mbox.open_message(r.uid) as f:
            out[r.uid] = f.readline().decode().strip()
    return out


def test_two_processes_delivering_at_once(tmp_path: Path) -> None:
    """Two processes appending concurrently get disjoint UIDs and every message is there."""
    root = str(tmp_path / "alice")
    open_user_store(root, user="alice")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, root, tag, str(PER_WRITER)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for tag in ("p1", "p2")
    ]
    results = []
    for p in procs:
        out, _ = p.communicate(timeout=240)
        assert p.returncode == 0
        results.append(json.loads(out))
    all_uids = results[0] + results[1]
    assert len(set(all_uids)) == 2 * PER_WRITER
    mbox = open_user_store(root, user="alice").open_mailbox("INBOX")
    subs = subjects(mbox)
    assert sorted(subs) == sorted(all_uids)
    for tag, uids in zip(("p1", "p2"), results, strict=True):
        assert [subs[u] for u in uids] == [f"Subject: {tag}-{i}" for i in range(PER_WRITER)]
    ul = parse_uidlist(Path(root, "dovecot-uidlist").read_bytes())
    assert sorted(ul.records) == sorted(all_uids)
    assert ul.nextuid == max(all_uids) + 1


def test_threads_appending_and_flagging_while_readers_snapshot(store: MaildirStore) -> None:
    """Threads appending, flagging and snapshotting at once see consistent, sorted state."""
    errors: list[BaseException] = []
    got: list[int] = []
    lock = threading.Lock()

    def writer(tag: str) -> None:
        try:
            mbox = store.open_mailbox("INBOX")
            for i in range(15):
                uid = mbox.append(f"Subject: {tag}{i}\n\nx\n".encode())
                mbox.set_flags([uid], ["\\Seen"], FlagMode.ADD)
                with lock:
                    got.append(uid)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    def reader() -> None:
        try:
            mbox = store.open_mailbox("INBOX", readonly=True)
            for _ in range(30):
                snap = mbox.snapshot()
                uids = [r.uid for r in snap.messages]
                assert uids == sorted(set(uids))
                assert all(u < snap.uidnext for u in uids)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(t,)) for t in "abc"]
    threads += [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(got) == list(range(1, 46))
    snap = store.open_mailbox("INBOX").snapshot()
    assert all(r.flags == {"\\Seen"} for r in snap.messages) and len(snap.messages) == 45


def test_exclusive_lock_excludes_a_second_session(store: MaildirStore) -> None:
    """acquire_exclusive succeeds once; a second attempt fails until the first releases."""
    a, b = store.open_mailbox("INBOX"), store.open_mailbox("INBOX")
    release = a.acquire_exclusive("pop3")
    assert release is not None
    assert b.acquire_exclusive("pop3") is None
    release()
    again = b.acquire_exclusive("pop3")
    assert again is not None
    again()


def test_notifier_is_told_after_each_change(tmp_path: Path) -> None:
    """The ChangeNotifier hears the mailbox key after append, flag change and expunge."""
    heard: list[str] = []

    class Recorder:
        def changed(self, mailbox_key: str) -> None:
            heard.append(mailbox_key)

    store = open_user_store(str(tmp_path / "n"), user="n", notifier=Recorder())
    mbox = store.open_mailbox("INBOX")
    uid = mbox.append(b"Subject: x\n\nx\n")
    mbox.set_flags([uid], ["\\Deleted"], FlagMode.ADD)
    mbox.expunge()
    assert heard == [mbox.key] * 3
    assert set(mbox.watch_paths()) >= {mbox.key + "/new", mbox.key + "/cur"}


def test_append_waits_for_dovecots_uidlist_lock(store: MaildirStore) -> None:
    """While dovecot-uidlist.lock is held (as Dovecot holds it), no UID is handed out."""
    import os

    mbox = store.open_mailbox("INBOX")
    lock = os.path.join(store.root, "dovecot-uidlist.lock")
    with open(lock, "w"):
        pass
    done: list[int] = []
    t = threading.Thread(target=lambda: done.append(mbox.append(b"Subject: w\n\nx\n")))
    t.start()
    t.join(0.5)
    assert done == [] and t.is_alive()
    os.unlink(lock)
    t.join(60)
    assert done == [1]


def test_stale_uidlist_lock_is_taken_over(store: MaildirStore) -> None:
    """A dotlock left untouched for over two minutes by a dead holder is overridden."""
    import os
    import time

    lock = os.path.join(store.root, "dovecot-uidlist.lock")
    with open(lock, "w"):
        pass
    old = time.time() - 600
    os.utime(lock, (old, old))
    assert store.open_mailbox("INBOX").append(b"Subject: s\n\nx\n") == 1
    assert not os.path.exists(lock)
