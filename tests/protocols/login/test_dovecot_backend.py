"""Interop: the front end proxies to a private Dovecot 2.3, which sees the real client address.

Dovecot takes our IMAP ``ID x-originating-ip`` from ``login_trusted_networks`` and our
PROXY v2 header on a ``haproxy = yes`` listener, and logs the client's IP as ``rip``.
"""

from __future__ import annotations

import imaplib
import os
import poplib
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.server import RunningServer, free_port, launch, write_config

from .conftest import CLIENT_IP

pytestmark = pytest.mark.external

DOVECOT = "/usr/sbin/dovecot"


@dataclass
class Dovecot:
    dir: Path
    ports: dict[str, int]

    def log_text(self) -> str:
        try:
            return (self.dir / "dovecot.log").read_text(errors="replace")
        except FileNotFoundError:
            return ""


def _wait_port(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    for _ in range(200):
        if proc.poll() is not None:
            raise RuntimeError(f"dovecot exited: {log.read_text() if log.exists() else ''}")
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("dovecot did not start listening")


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    if not os.path.exists(DOVECOT) or not os.path.exists("/usr/lib/dovecot/imap"):
        pytest.skip("Dovecot is not installed (./dev test installs it)")
    base = Path(tempfile.mkdtemp(prefix="mailsuite-proxy-dovecot-"))
    base.chmod(0o755)
    ports = {k: free_port() for k in ("imap", "imap_haproxy", "pop3", "pop3_haproxy")}
    if os.getuid() == 0:
        nobody = pwd.getpwnam("nobody")
        uid, gid = nobody.pw_uid, nobody.pw_gid
        internal = "dovecot" if _exists("dovecot") else "nobody"
        login = "dovenull" if _exists("dovenull") else "nobody"
    else:
        me = pwd.getpwuid(os.getuid())
        uid, gid, internal, login = me.pw_uid, me.pw_gid, me.pw_name, me.pw_name
    mail = base / "mail" / "alice"
    for sub in ("cur", "new", "tmp"):
        (mail / sub).mkdir(parents=True)
    (mail / "new" / "1.M1.test").write_text("Subject: from dovecot\n\ndovecot body\n")
    for dirpath, _dirs, files in os.walk(base / "mail"):
        os.chown(dirpath, uid, gid)
        for name in files:
            os.chown(os.path.join(dirpath, name), uid, gid)
    passwd = base / "passwd"
    passwd.write_text(f"alice:{{PLAIN}}alice-pw:{uid}:{gid}::{mail}::\n")
    for sub in ("run", "state"):
        (base / sub).mkdir(mode=0o755)
    chroot = "  chroot =\n" if os.getuid() == 0 else ""
    conf = f"""# mailsuite tests: a private Dovecot; never the system instance.
base_dir = {base}/run
state_dir = {base}/state
instance_name = mstest-proxy-{os.getpid()}
protocols = imap pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal}
default_login_user = {login}
first_valid_uid = 1
log_path = {base}/dovecot.log
mail_location = maildir:~
login_trusted_networks = 127.0.0.0/8
haproxy_trusted_networks = 127.0.0.0/8
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {passwd}
}}
userdb {{
  driver = passwd-file
  args = {passwd}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {ports["imap"]}
  }}
  inet_listener imap_haproxy {{
    address = 127.0.0.1
    port = {ports["imap_haproxy"]}
    haproxy = yes
  }}
  inet_listener imaps {{
    port = 0
  }}
{chroot}}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {ports["pop3"]}
  }}
  inet_listener pop3_haproxy {{
    address = 127.0.0.1
    port = {ports["pop3_haproxy"]}
    haproxy = yes
  }}
  inet_listener pop3s {{
    port = 0
  }}
{chroot}}}
"""
    (base / "dovecot.conf").write_text(conf)
    proc = subprocess.Popen(
        [DOVECOT, "-F", "-c", str(base / "dovecot.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_port(ports["imap"], proc, base / "dovecot.log")
        yield Dovecot(base, ports)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(base, ignore_errors=True)


def _exists(user: str) -> bool:
    try:
        pwd.getpwnam(user)
    except KeyError:
        return False
    return True


def _front(base: Path, dovecot: Dovecot, haproxy: bool) -> RunningServer:
    imap, pop3 = free_port(), free_port()
    suffix = "_haproxy" if haproxy else ""
    server = write_config(
        base,
        {
            "proxy": {
                "enabled": True,
                "imap_listen": [f"127.0.0.1:{imap}"],
                "imap_tls_listen": [],
                "pop3_listen": [f"127.0.0.1:{pop3}"],
                "pop3_tls_listen": [],
                "backend_imap_port": dovecot.ports["imap" + suffix],
                "backend_pop3_port": dovecot.ports["pop3" + suffix],
                "send_proxy_protocol": haproxy,
            }
        },
    )
    (Path(server.base_dir) / "etc" / "users").write_text(
        "alice:{PLAIN}alice-pw::::::proxy=y host=127.0.0.1\n"
    )
    server.imap_port, server.pop3_port = imap, pop3  # the front end's ports, for the tests
    return launch(server)


class _Imap(imaplib.IMAP4):
    def _create_socket(self, timeout: float | None) -> socket.socket:
        return socket.create_connection(
            (self.host, self.port), timeout, source_address=(CLIENT_IP, 0)
        )


class _Pop3(poplib.POP3):
    def _create_socket(self, timeout: float) -> socket.socket:
        return socket.create_connection(
            (self.host, self.port), timeout, source_address=(CLIENT_IP, 0)
        )


@pytest.mark.parametrize("haproxy", [False, True], ids=["imap-id", "proxy-v2"])
def test_imap_to_dovecot(dovecot: Dovecot, tmp_path: Path, haproxy: bool) -> None:
    """LOGIN through the front end reaches Dovecot's mailbox; Dovecot logs the client's IP."""
    wanted = f"Login: user=<alice>, method=PLAIN, rip={CLIENT_IP},"
    before = dovecot.log_text().count(wanted)
    front = _front(tmp_path, dovecot, haproxy)
    try:
        client = _Imap("127.0.0.1", front.imap_port, timeout=20)
        typ, answer = client.login("alice", "alice-pw")
        assert typ == "OK" and b"[CAPABILITY " in answer[0]
        typ, count = client.select("INBOX")
        assert typ == "OK" and count[0] == b"1"
        assert b"dovecot body" in client.fetch("1", "(BODY[])")[1][0][1]
        client.logout()
    finally:
        front.stop()
    assert dovecot.log_text().count(wanted) == before + 1


def test_pop3_to_dovecot_with_proxy_v2(dovecot: Dovecot, tmp_path: Path) -> None:
    """USER/PASS through the front end and PROXY v2 to Dovecot: Dovecot's rip is the client."""
    front = _front(tmp_path, dovecot, True)
    try:
        client = _Pop3("127.0.0.1", front.pop3_port, timeout=20)
        client.user("alice")
        assert client.pass_("alice-pw").startswith(b"+OK")
        assert client.stat()[0] == 1
        client.quit()
    finally:
        front.stop()
    logins = [line for line in dovecot.log_text().splitlines() if "pop3-login" in line]
    assert any(f"Login: user=<alice>, method=PLAIN, rip={CLIENT_IP}," in line for line in logins)
