"""Shared set-up for the store admin command tests: a config and a seeded user."""

from __future__ import annotations

from pathlib import Path

from mailsuite.store.api import FlagMode
from mailsuite.store.maildir import open_user_store

__all__ = ["make_config", "seed"]


def make_config(tmp_path: Path) -> str:
    path = tmp_path / "mailsuite.toml"
    path.write_text(
        f'[mail]\nlocation = "{tmp_path}/mail/%d/%n"\nspecial_use = {{ Trash = "\\\\Trash" }}\n'
        "[quota]\nstorage_bytes = 1000000\nmessages = 10\n"
    )
    return str(path)


def seed(tmp_path: Path) -> str:
    root = str(tmp_path / "mail" / "example.org" / "alice")
    mbox = open_user_store(root, user="alice@example.org").open_mailbox("INBOX")
    for i in range(3):
        mbox.append(f"Subject: {i}\n\nbody {i}\n".encode())
    mbox.set_flags([1], ["\\Seen"], FlagMode.ADD)
    return root
