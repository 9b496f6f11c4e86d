"""A mailbox never reports UIDVALIDITY 0 (RFC 3501 section 9: nz-number)."""

from __future__ import annotations

from pathlib import Path

from mailsuite.store.maildir import open_user_store


def test_empty_inbox_has_nonzero_uidvalidity(tmp_path: Path) -> None:
    """SELECT of a never-used INBOX sees a real UIDVALIDITY, kept once a message arrives."""
    store = open_user_store(str(tmp_path / "u"), user="u")
    box = store.open_mailbox("INBOX")
    first = box.snapshot()
    assert first.uidvalidity > 0
    assert box.status().uidvalidity == first.uidvalidity
    box.append(b"Subject: x\r\n\r\nbody\r\n")
    assert box.snapshot().uidvalidity == first.uidvalidity


def test_new_folder_status_has_nonzero_uidvalidity(tmp_path: Path) -> None:
    """STATUS of a freshly created folder reports a non-zero UIDVALIDITY."""
    store = open_user_store(str(tmp_path / "u"), user="u")
    store.create_mailbox("Projects")
    status = store.open_mailbox("Projects").status()
    assert status.uidvalidity > 0 and status.uidnext == 1
