"""The QRESYNC reconnect benchmark: its mailbox, its UID-set reader, and one real round."""

from __future__ import annotations

import asyncio
import os
import random
from pathlib import Path

from bench import imap_qresync as q
from bench.seed import Manifest
from bench.servers import ALL_SERVERS
from mailsuite.store.maildir import open_user_store


def test_uid_set_reader() -> None:
    """A VANISHED uid-set expands to exactly its UIDs."""
    assert q._uids(b"3,5:7,10") == {3, 5, 6, 7, 10}


def test_template_is_a_maildir_of_n_messages(tmp_path: Path) -> None:
    """The template holds one INBOX of N messages the store reads, roughly 70% \\Seen."""
    root = q.write_template(str(tmp_path / "t"), 50)
    store = open_user_store(os.path.join(root, "mail", q.USER), user=q.USER, fsync=False)
    box = store.open_mailbox("INBOX", readonly=True)
    try:
        messages = box.snapshot().messages
    finally:
        box.close()
    assert len(messages) == 50
    assert 20 < sum("\\Seen" in m.flags for m in messages) < 50


def test_one_round_against_mailsuite(tmp_path: Path) -> None:
    """A round against the real server gets the exact VANISHED/FETCH answer (checked inside the
    round) and sends far fewer bytes than the full refetch."""
    template = q.write_template(str(tmp_path / "t"), 200)
    server = ALL_SERVERS["mailsuite"](str(tmp_path / "run"))
    server.prepare(template, Manifest(profile={}, passwords={q.USER: q.PASSWORD}))
    server.start()
    try:
        result = asyncio.run(q._round(server, 20, random.Random(1), 0))
    finally:
        server.stop()
    assert result["qresync_bytes"] < result["full_bytes"]
