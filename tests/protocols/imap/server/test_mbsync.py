"""Two-way sync with mbsync (isync), a real client that leans on UIDPLUS, flags and UIDs."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.server import RunningServer

from .conftest import deliver

pytestmark = pytest.mark.external

MSG = b"From: a@example.org\nSubject: sync %d\nMessage-ID: <%d@example.org>\n\nbody %d\n"


def _rc(tmp: Path, server: RunningServer, user: tuple[str, str]) -> Path:
    local = tmp / "local"
    local.mkdir()
    cert = os.path.join(server.base_dir, "var/tls/cert.pem")
    rc = tmp / "mbsyncrc"
    rc.write_text(
        f"""IMAPAccount acc
Host localhost
Port {server.imap_port}
User {user[0]}
Pass {user[1]}
SSLType STARTTLS
CertificateFile {cert}
AuthMechs LOGIN

IMAPStore remote
Account acc

MaildirStore local
Path {local}/
Inbox {local}/INBOX
SubFolders Verbatim

Channel ch
Far :remote:
Near :local:
Patterns INBOX Work
Create Both
Expunge Both
SyncState *
"""
    )
    return rc


def _sync(rc: Path) -> None:
    run = subprocess.run(
        ["mbsync", "-c", str(rc), "-a"], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stdout + run.stderr


def _server_messages(server: RunningServer, user: str, mailbox: str = "INBOX") -> list:
    from mailsuite.store.maildir import open_user_store

    box = open_user_store(server.mail_root(user), user=user).open_mailbox(mailbox, readonly=True)
    try:
        return list(box.snapshot().messages)
    finally:
        box.close()


@pytest.mark.skipif(shutil.which("mbsync") is None, reason="isync (mbsync) is not installed")
def test_mbsync_two_way(server: RunningServer, user: tuple[str, str], tmp_path: Path) -> None:
    """mbsync pulls server mail, pushes a local message and flag, and syncs expunges both ways."""
    name = user[0]
    rc = _rc(tmp_path, server, user)
    _sync(rc)  # an empty account first: nothing to do, nothing to fail
    for i in (1, 2):
        deliver(server, MSG % (i, i, i), name)
    _sync(rc)
    inbox = tmp_path / "local" / "INBOX"
    local = sorted(glob.glob(str(inbox / "cur" / "*")) + glob.glob(str(inbox / "new" / "*")))
    assert len(local) == 2
    assert {Path(p).read_bytes().split(b"\n")[1] for p in local} == {
        b"Subject: sync 1",
        b"Subject: sync 2",
    }

    # Local changes: a new message, \Flagged on one, a new folder with a message.
    (inbox / "new" / "1700000000.local1.host").write_bytes(MSG % (3, 3, 3))
    first = local[0]
    base = first.split(":2,")[0]
    os.rename(first, base + ":2,F" if ":2," in first else first + ":2,F")
    work = tmp_path / "local" / "Work"
    for sub in ("cur", "new", "tmp"):
        (work / sub).mkdir(parents=True)
    (work / "new" / "1700000001.local2.host").write_bytes(MSG % (4, 4, 4))
    _sync(rc)
    msgs = _server_messages(server, name)
    assert len(msgs) == 3
    assert sum(1 for m in msgs if "\\Flagged" in m.flags) == 1
    assert len(_server_messages(server, name, "Work")) == 1

    # A server-side expunge reaches the local Maildir.
    from mailsuite.store.api import FlagMode
    from mailsuite.store.maildir import open_user_store

    box = open_user_store(server.mail_root(name), user=name).open_mailbox("INBOX")
    try:
        uid = msgs[0].uid
        box.set_flags([uid], ["\\Deleted"], FlagMode.ADD)
        box.expunge([uid])
    finally:
        box.close()
    _sync(rc)
    local = glob.glob(str(inbox / "cur" / "*")) + glob.glob(str(inbox / "new" / "*"))
    assert len(local) == 2
