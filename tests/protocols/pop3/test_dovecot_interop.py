"""UIDLs and sizes agree with Dovecot's pop3 on the same Maildir, in both directions.

Dovecot's ``pop3`` binary runs in pre-authenticated mode on stdin/stdout (no
daemon, no network) as the unprivileged ``mail`` user on a copy of the Maildir.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.external

DOVECOT_POP3 = "/usr/lib/dovecot/pop3"
MESSAGES = [
    b"Subject: one\n\nbody\n",
    b"Subject: two\r\n\r\nbody\r\n.dot\r\n",
    b"Subject: three\n\nno final newline",
]


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory the ``mail`` user can reach (pytest's tmp dirs are private to root)."""
    if not os.path.exists(DOVECOT_POP3):
        pytest.skip("dovecot-pop3d is not installed (./dev test installs it)")
    try:
        pwd.getpwnam("mail")
    except KeyError:
        pytest.skip("no 'mail' user to run Dovecot as")
    path = Path(tempfile.mkdtemp(prefix="mailsuite-dovecot-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def dovecot_pop3(base: Path, maildir: Path, commands: bytes) -> bytes:
    """Run Dovecot's pop3 pre-authenticated on ``maildir`` and return its output."""
    conf = base / "dovecot.conf"
    conf.write_text(
        f"mail_location = maildir:{maildir}\n"
        "ssl = no\n"
        f"log_path = {base / 'dovecot.log'}\n"
        "mail_uid = mail\nmail_gid = mail\nfirst_valid_uid = 1\nfirst_valid_gid = 1\n"
    )
    subprocess.run(["chown", "-R", "mail:mail", str(maildir)], check=True)
    result = subprocess.run(
        [DOVECOT_POP3, "-c", str(conf)],
        input=commands,
        capture_output=True,
        env={"USER": "mail", "HOME": str(base), "PATH": os.environ.get("PATH", "")},
        timeout=60,
    )
    log = (base / "dovecot.log").read_text() if (base / "dovecot.log").exists() else ""
    assert b"+OK Logging out" in result.stdout, result.stdout + result.stderr + log.encode()
    return result.stdout


def listing(output: bytes, command: bytes) -> list[bytes]:
    """The lines of the multi-line answer to ``command`` in a transcript of UIDL then LIST."""
    blocks = output.split(b"\r\n.\r\n")
    lines = blocks[{b"UIDL": 0, b"LIST": 1}[command]].split(b"\r\n")
    # Skip the greeting (if any) and the +OK line that opens the answer.
    last_ok = max(i for i, line in enumerate(lines) if line.startswith(b"+OK"))
    return lines[last_ok + 1 :]


def ours(pop3env, commands: list[bytes]) -> list[list[bytes]]:
    session = pop3env.login()
    out = [pop3env.say(session, c).split(b"\r\n")[1:-2] for c in commands]
    pop3env.say(session, b"QUIT")
    return out


def test_dovecot_reads_our_uidls(pop3env, shared_dir: Path) -> None:
    """Dovecot's pop3 on a Maildir our store wrote shows the same UIDLs and sizes as we do."""
    for data in MESSAGES:
        pop3env.deliver(data)
    our_uidl, our_list = ours(pop3env, [b"UIDL", b"LIST"])
    copy = shared_dir / "Maildir"
    shutil.copytree(pop3env.mail_root("alice"), copy)
    out = dovecot_pop3(shared_dir, copy, b"UIDL\r\nLIST\r\nQUIT\r\n")
    assert listing(out, b"UIDL") == our_uidl and len(our_uidl) == len(MESSAGES)
    assert listing(out, b"LIST") == our_list


def test_we_read_dovecots_uidls(pop3env, shared_dir: Path) -> None:
    """A Maildir Dovecot numbered keeps Dovecot's UIDLs and sizes when we serve it."""
    maildir = shared_dir / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    for i, data in enumerate(MESSAGES):
        (maildir / "new" / f"17000000{i}.M{i}P1.example").write_bytes(data)
    out = dovecot_pop3(shared_dir, maildir, b"UIDL\r\nLIST\r\nQUIT\r\n")
    root = Path(pop3env.mail_root("alice"))
    shutil.copytree(maildir, root)
    our_uidl, our_list = ours(pop3env, [b"UIDL", b"LIST"])
    assert our_uidl == listing(out, b"UIDL") and len(our_uidl) == len(MESSAGES)
    assert our_list == listing(out, b"LIST")
