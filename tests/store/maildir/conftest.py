"""Fixtures: a fresh user store in a temporary directory, with its log captured."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailsuite.store.maildir import MaildirStore, open_user_store


class LogLines(list[str]):
    def text(self) -> str:
        return "\n".join(self)


@pytest.fixture
def log() -> LogLines:
    return LogLines()


@pytest.fixture
def store(tmp_path: Path, log: LogLines) -> Iterator[MaildirStore]:
    yield open_user_store(str(tmp_path / "alice"), user="alice", log=log.append)


def msg(n: int, extra: str = "") -> bytes:
    return (
        f"From: Alice <alice@example.org>\nTo: bob@example.org\nSubject: message {n}\n"
        f"Message-ID: <{n}@example.org>\n{extra}\nBody of message {n}.\nSecond line.\n"
    ).encode()


def file_of(root: str, base: str) -> str:
    """The path of the message file with this base name, in new/ or cur/ (any flags)."""
    for sub in ("new", "cur"):
        for name in os.listdir(os.path.join(root, sub)):
            if name.partition(":")[0] == base:
                return os.path.join(root, sub, name)
    raise FileNotFoundError(base)


def other_process_mailbox(store: MaildirStore, name: str = "INBOX", readonly: bool = False):  # type: ignore[no-untyped-def]
    """The mailbox as another mailsuite process sees it: its own core, shared only on disk."""
    from mailsuite.store.maildir.core import MailboxCore
    from mailsuite.store.maildir.mailbox import MaildirMailbox

    path = store._path(name)
    core = MailboxCore(
        path,
        user=store.user,
        name=name,
        fsync=False,
        log=lambda line: None,
        names=store._names,
        quota=None,
        notifier=None,
        new_uidvalidity=store._next_uidvalidity,
    )
    mbox = MaildirMailbox(core, name, readonly, core.close)
    core.sync()
    return mbox
