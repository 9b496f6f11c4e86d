"""Interop with Dovecot 2.3: both servers see the same UIDs, UIDVALIDITY, flags and keywords."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailsuite.store.api import FlagMode
from mailsuite.store.maildir import open_user_store

pytestmark = pytest.mark.external

DOVEADM = shutil.which("doveadm")
NOBODY = 65534


class Dovecot:
    """doveadm with a private config on one Maildir; no daemon needed for mail commands."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.maildir = base / "mail"
        self.as_root = os.getuid() == 0
        uid = NOBODY if self.as_root else os.getuid()
        gid = NOBODY if self.as_root else os.getgid()
        for d in ("run", "state", "home"):
            (base / d).mkdir()
        self.maildir.mkdir()
        self.config = base / "dovecot.conf"
        self.config.write_text(
            f"protocols =\nbase_dir = {base}/run\nstate_dir = {base}/state\nssl = no\n"
            f"mail_location = maildir:{self.maildir}\nmail_uid = {uid}\nmail_gid = {gid}\n"
            "first_valid_uid = 1\nfirst_valid_gid = 1\n"
        )
        os.chmod(self.config, 0o644)
        self.fix_owner()

    def fix_owner(self) -> None:
        """Dovecot refuses to run as root; as root we hand the tree to nobody first."""
        if self.as_root:
            for dirpath, dirnames, filenames in os.walk(self.base):
                for n in dirnames + filenames:
                    os.lchown(os.path.join(dirpath, n), NOBODY, NOBODY)

    def wrap(self, cmd: list[str]) -> list[str]:
        """The command run as the mail user (nobody when the tests run as root)."""
        if self.as_root:
            return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *cmd]
        return cmd

    def run(self, *args: str, stdin: bytes | None = None, fix: bool = True) -> str:
        if fix:
            self.fix_owner()
        cmd = self.wrap([DOVEADM or "doveadm", "-c", str(self.config), *args])
        env = {"PATH": os.environ.get("PATH", ""), "USER": "alice", "HOME": str(self.base / "home")}
        res = subprocess.run(cmd, input=stdin, capture_output=True, env=env, timeout=60)
        assert res.returncode == 0, res.stderr.decode()
        return res.stdout.decode()

    def fetch_flags(self, mailbox: str = "INBOX") -> dict[int, frozenset[str]]:
        out: dict[int, frozenset[str]] = {}
        uid = 0
        for line in self.run("fetch", "uid flags", "mailbox", mailbox).splitlines():
            if line.startswith("uid: "):
                uid = int(line[5:])
            elif line.startswith("flags:"):
                out[uid] = frozenset(line[6:].split()) - {"\\Recent"}
        return out

    def status(self, mailbox: str = "INBOX") -> dict[str, int]:
        line = self.run("mailbox", "status", "uidvalidity uidnext messages", mailbox)
        return {k: int(v) for k, v in (f.split("=") for f in line.split()[1:])}


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    if DOVEADM is None:
        pytest.skip("doveadm is not installed (Debian package dovecot-core)")
    if os.getuid() == 0 and shutil.which("setpriv") is None:
        pytest.skip("setpriv is needed to run doveadm as an unprivileged user")
    # Not under pytest's tmp_path: it is mode 0700 and the unprivileged doveadm must enter it.
    base = Path(tempfile.mkdtemp(prefix="mailsuite-dovecot-"))
    os.chmod(base, 0o755)
    try:
        yield Dovecot(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def message(n: int) -> bytes:
    return f"From: a@example.org\nSubject: dovecot {n}\n\nbody {n}\n".encode()


def test_dovecot_delivers_and_flags_mailsuite_agrees(dovecot: Dovecot) -> None:
    """Messages saved and flagged by Dovecot show the same UIDs, flags and keywords in mailsuite."""
    for i in range(4):
        dovecot.run("save", stdin=message(i))
    dovecot.run("flags", "add", "\\Seen $Forwarded Junk", "mailbox", "INBOX", "uid", "1")
    dovecot.run("flags", "add", "\\Answered \\Flagged \\Draft", "mailbox", "INBOX", "uid", "3")
    dovecot.run("flags", "add", "\\Deleted", "mailbox", "INBOX", "uid", "2")
    dovecot.run("expunge", "mailbox", "INBOX", "DELETED")
    dovecot.run("mailbox", "create", "Foo.Bär")
    dovecot.run("save", "-m", "Foo.Bär", stdin=message(9))
    expected = dovecot.fetch_flags()
    status = dovecot.status()
    assert sorted(expected) == [1, 3, 4]

    store = open_user_store(str(dovecot.maildir), user="alice")
    snap = store.open_mailbox("INBOX").snapshot()
    assert {r.uid: r.flags for r in snap.messages} == expected
    assert snap.uidvalidity == status["uidvalidity"]
    assert snap.uidnext == status["uidnext"]
    assert "Foo.Bär" in {i.name for i in store.list_mailboxes()}
    other = store.open_mailbox("Foo.Bär").snapshot()
    assert [r.uid for r in other.messages] == [1]
    assert other.uidvalidity == dovecot.status("Foo.Bär")["uidvalidity"]


def test_mailsuite_delivers_and_flags_dovecot_agrees(dovecot: Dovecot) -> None:
    """Messages saved and flagged by mailsuite read back identically through doveadm."""
    store = open_user_store(str(dovecot.maildir), user="alice")
    mbox = store.open_mailbox("INBOX")
    for i in range(4):
        mbox.append(message(i), ["\\Seen"] if i == 0 else [])
    mbox.set_flags([2], ["$Label1", "Work", "\\Flagged"], FlagMode.ADD)
    mbox.set_flags([3], ["\\Deleted"], FlagMode.ADD)
    mbox.expunge()
    mbox.set_flags([4], ["Work"], FlagMode.ADD)
    store.create_mailbox("Sent")
    mbox.copy([2], store.open_mailbox("Sent"))
    snap = mbox.snapshot()

    assert dovecot.fetch_flags() == {r.uid: r.flags for r in snap.messages}
    status = dovecot.status()
    assert (status["uidvalidity"], status["uidnext"], status["messages"]) == (
        snap.uidvalidity,
        snap.uidnext,
        3,
    )
    assert dovecot.fetch_flags("Sent") == {1: frozenset({"$Label1", "Work", "\\Flagged"})}

    # And back again: Dovecot delivers next; mailsuite continues with Dovecot's UID.
    dovecot.run("save", stdin=message(7))
    dovecot.run("flags", "add", "Work", "mailbox", "INBOX", "uid", "5")
    again = store.open_mailbox("INBOX").snapshot()
    assert {r.uid: r.flags for r in again.messages} == dovecot.fetch_flags()
    assert again.uidnext == 6


def test_dovecot_and_mailsuite_delivering_at_once(dovecot: Dovecot) -> None:
    """Dovecot and a mailsuite process saving into one Maildir at once never share a UID."""
    from .test_concurrency import WRITER

    n = 12
    dovecot.run("mailbox", "status", "messages", "INBOX")  # Dovecot makes the Maildir
    writer = subprocess.Popen(
        dovecot.wrap([sys.executable, "-c", WRITER, str(dovecot.maildir), "ms", str(n)]),
        stdout=subprocess.PIPE,
        text=True,
    )
    for i in range(n):
        dovecot.run("save", stdin=message(100 + i), fix=False)
    out, _ = writer.communicate(timeout=240)
    assert writer.returncode == 0
    ours = json.loads(out)
    theirs = dovecot.fetch_flags()
    assert len(theirs) == 2 * n and set(ours) <= set(theirs)
    snap = open_user_store(str(dovecot.maildir), user="alice").open_mailbox("INBOX").snapshot()
    assert [r.uid for r in snap.messages] == sorted(theirs)
    subjects = dovecot.run("fetch", "hdr.subject", "mailbox", "INBOX", fix=False)
    assert sum(f"dovecot {100 + i}" in subjects for i in range(n)) == n
    assert sum(f"ms-{i}\n" in subjects + "\n" for i in range(n)) == n
