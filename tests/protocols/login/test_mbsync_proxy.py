"""mbsync (isync) through the front end: STARTTLS, LOGIN, and a two-way sync with the backend."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import USERS, Cluster

pytestmark = [
    pytest.mark.external,
    pytest.mark.skipif(shutil.which("mbsync") is None, reason="isync (mbsync) is not installed"),
]


def _rc(tmp: Path, cluster: Cluster, user: str) -> tuple[Path, Path]:
    local = tmp / "local"
    local.mkdir()
    cert = os.path.join(cluster.front.base_dir, "var/tls/cert.pem")
    rc = tmp / "mbsyncrc"
    rc.write_text(
        f"""IMAPAccount acc
Host localhost
Port {cluster.front_ports["imap"]}
User {user}
Pass {USERS[user]}
SSLType STARTTLS
CertificateFile {cert}
AuthMechs LOGIN

IMAPStore remote
Account acc

MaildirStore local
Path {local}/
Inbox {local}/INBOX

Channel ch
Far :remote:
Near :local:
Patterns INBOX
Create Both
Expunge Both
SyncState *
"""
    )
    return rc, local


def _sync(rc: Path) -> None:
    run = subprocess.run(
        ["mbsync", "-c", str(rc), "-a"], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stdout + run.stderr


def _files(root: str) -> list[str]:
    return glob.glob(os.path.join(root, "cur", "*")) + glob.glob(os.path.join(root, "new", "*"))


def test_mbsync_two_way_through_the_front_end(cluster: Cluster, tmp_path: Path) -> None:
    """mbsync pulls alice's backend mail and pushes a local message back, all via the proxy."""
    cluster.deliver("127.0.0.2", "alice", "Subject: for mbsync\nMessage-ID: <m1@x>\n\nsync me\n")
    rc, local = _rc(tmp_path, cluster, "alice")
    _sync(rc)
    pulled = [open(p, "rb").read() for p in _files(str(local / "INBOX"))]
    assert any(b"sync me" in body for body in pulled)
    backend_root = cluster.backends["127.0.0.2"].mail_root("alice")
    before = len(_files(backend_root))
    with open(local / "INBOX" / "new" / "1700000000.local.host", "wb") as f:
        f.write(b"From: me@example.org\nSubject: pushed\nMessage-ID: <p1@x>\n\npushed body\n")
    _sync(rc)
    after = _files(backend_root)
    assert len(after) == before + 1
    assert any(b"pushed body" in open(p, "rb").read() for p in after)
