"""Real POP3 clients (fetchmail, getmail6) against the real server: keep, delete, STLS, POP3S."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.protocols.pop3.conftest import require_backends
from tests.protocols.pop3.test_server import deliver, inbox_uids
from tests.support.server import RunningServer, start_server

pytestmark = pytest.mark.external

MESSAGES = [
    b"From: a@example.org\nSubject: first\nMessage-ID: <1@example.org>\n\nhello\n.dot\n",
    b"From: b@example.org\nSubject: second\nMessage-ID: <2@example.org>\n\nworld\n",
]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    require_backends()
    with start_server(tmp_path / "srv") as running:
        for data in MESSAGES:
            deliver(running, data)
        yield running


def maildir(path: Path) -> Path:
    for sub in ("cur", "new", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    return path


def delivered(path: Path) -> list[bytes]:
    return sorted((path / "new" / n).read_bytes() for n in os.listdir(path / "new"))


def run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, HOME=str(cwd))
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


# -- fetchmail -----------------------------------------------------------------


def fetchmail(server: RunningServer, work: Path, out: Path, *, keep: bool, tls: str) -> str:
    """Run fetchmail once; ``tls`` is "none", "stls" or "pop3s"."""
    if shutil.which("fetchmail") is None:
        pytest.skip("fetchmail is not installed (./dev test installs it)")
    cert = os.path.join(server.base_dir, "var/tls/cert.pem")
    mda = work / "mda.sh"
    mda.write_text(f'#!/bin/sh\ncat > "{out}/tmp/m.$$" && mv "{out}/tmp/m.$$" "{out}/new/"\n')
    mda.chmod(0o755)
    port = server.pop3s_port if tls == "pop3s" else server.pop3_port
    options = {
        "none": "sslproto ''",
        "stls": f"sslcertck sslcertfile {cert} sslcommonname localhost",
        "pop3s": f"ssl sslcertck sslcertfile {cert} sslcommonname localhost",
    }[tls]
    rc = work / "fetchmailrc"
    rc.write_text(
        f"set no syslog\n"
        f"poll 127.0.0.1 service {port} protocol pop3 uidl\n"
        f'  user "alice" there with password "alice-pw" is "alice" here\n'
        f'  {"keep" if keep else "no keep"} mda "{mda}" {options}\n'
    )
    rc.chmod(0o600)
    result = run(
        ["fetchmail", "-f", str(rc), "--idfile", str(work / "fetchids"), "-v", "--nodetach"], work
    )
    # fetchmail exits 1 when there was no new mail: a normal outcome here.
    assert result.returncode in (0, 1), result.stdout + result.stderr
    return result.stdout + result.stderr


@pytest.mark.parametrize("tls", ["none", "stls", "pop3s"])
def test_fetchmail_keep(server: RunningServer, tmp_path: Path, tls: str) -> None:
    """fetchmail with keep downloads every message once and leaves them on the server."""
    out = maildir(tmp_path / "fm")
    log = fetchmail(server, tmp_path, out, keep=True, tls=tls)
    got = delivered(out)
    assert len(got) == 2, log
    assert any(b"Subject: first" in m and b"\n.dot\n" in m.replace(b"\r\n", b"\n") for m in got)
    assert len(inbox_uids(server)) == 2
    # UIDL tells fetchmail what it already has: the second run fetches nothing.
    fetchmail(server, tmp_path, out, keep=True, tls=tls)
    assert len(delivered(out)) == 2


def test_fetchmail_delete(server: RunningServer, tmp_path: Path) -> None:
    """fetchmail without keep downloads every message and the server deletes them at QUIT."""
    out = maildir(tmp_path / "fm")
    log = fetchmail(server, tmp_path, out, keep=False, tls="stls")
    assert len(delivered(out)) == 2, log
    assert inbox_uids(server) == []


# -- getmail6 ------------------------------------------------------------------


def getmail(server: RunningServer, work: Path, out: Path, *, delete: bool, ssl: bool) -> str:
    if shutil.which("getmail") is None:
        pytest.skip("getmail6 is not installed (./dev test installs it)")
    cert = os.path.join(server.base_dir, "var/tls/cert.pem")
    retriever = "SimplePOP3SSLRetriever" if ssl else "SimplePOP3Retriever"
    port = server.pop3s_port if ssl else server.pop3_port
    lines = [
        "[retriever]",
        f"type = {retriever}",
        # The certificate names localhost, and getmail checks the name.
        "server = localhost",
        f"port = {port}",
        "username = alice",
        "password = alice-pw",
        *([f"ca_certs = {cert}"] if ssl else []),
        "[destination]",
        "type = Maildir",
        f"path = {out}/",
        # getmail refuses to write a Maildir as root: deliver as "mail" then.
        *(["user = mail"] if os.geteuid() == 0 else []),
        "[options]",
        "verbose = 2",
        "read_all = false",
        f"delete = {'true' if delete else 'false'}",
    ]
    rc = work / "getmailrc"
    rc.write_text("\n".join(lines) + "\n")
    gdir = work / "getmaildir"
    gdir.mkdir(exist_ok=True)
    result = run(["getmail", "--getmaildir", str(gdir), "--rcfile", str(rc)], work)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


@pytest.fixture
def getmail_out(tmp_path: Path) -> Iterator[Path]:
    """A Maildir getmail can write: as root it delivers as "mail", outside root's tmp dirs."""
    if os.geteuid() != 0:
        yield maildir(tmp_path / "gm")
        return
    base = Path(tempfile.mkdtemp(prefix="mailsuite-getmail-"))
    base.chmod(0o755)
    out = maildir(base / "gm")
    subprocess.run(["chown", "-R", "mail:mail", str(out)], check=True)
    try:
        yield out
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.parametrize("use_ssl", [False, True])
def test_getmail_keep(
    server: RunningServer, tmp_path: Path, getmail_out: Path, use_ssl: bool
) -> None:
    """getmail6 keeping mail downloads each message once (by UIDL) and leaves them on the server."""
    out = getmail_out
    log = getmail(server, tmp_path, out, delete=False, ssl=use_ssl)
    assert len(delivered(out)) == 2, log
    getmail(server, tmp_path, out, delete=False, ssl=use_ssl)
    assert len(delivered(out)) == 2
    assert len(inbox_uids(server)) == 2


def test_getmail_delete(server: RunningServer, tmp_path: Path, getmail_out: Path) -> None:
    """getmail6 with delete downloads everything and leaves the maildrop empty."""
    out = getmail_out
    log = getmail(server, tmp_path, out, delete=True, ssl=False)
    got = delivered(out)
    assert len(got) == 2, log
    assert any(b"Subject: second" in m for m in got)
    assert inbox_uids(server) == []
