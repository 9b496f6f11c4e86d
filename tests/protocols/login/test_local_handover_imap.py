"""IMAP through a front end that serves its users in-process: the local IMAP service adopts them."""

from __future__ import annotations

import base64
import glob
import imaplib
import os
import re
import shutil
import socket
import ssl
import subprocess
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import CLIENT_IP, TRUSTED_PROXY_IP, LocalFront, start_local_front

pytestmark = pytest.mark.slow

MESSAGE = "From: a@example.org\nSubject: handed over\nMessage-ID: <h1@x>\n\nserved here\n"


@pytest.fixture(scope="module")
def front(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalFront]:
    yield from start_local_front(tmp_path_factory)


def _no_verify() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Raw:
    """A line-level IMAP client on a plain socket from CLIENT_IP (for pipelining and IDLE)."""

    def __init__(self, port: int, source: str = CLIENT_IP) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), 20, source_address=(source, 0))
        self.file = self.sock.makefile("rb")
        self.greeting = self.readline()

    def readline(self) -> bytes:
        line = self.file.readline()
        assert line, "the server closed the connection"
        return line

    def until(self, prefix: bytes) -> list[bytes]:
        """Every line up to and including the first one starting with ``prefix``."""
        lines = []
        while True:
            line = self.readline()
            lines.append(line)
            if line.startswith(prefix):
                return lines

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def _session_ids(log: str, user: str) -> tuple[list[str], list[str]]:
    """Session IDs of the front end's handover lines and of the IMAP service's login lines."""
    front = re.findall(rf"imap-login\({user}\)<(\w+)>: Login: user=<{user}>.*served here", log)
    local = re.findall(rf"imap\({user}\)<(\w+)>: Logged in from", log)
    return front, local


def test_login_answers_with_the_post_login_capabilities(front: LocalFront) -> None:
    """LOGIN is answered by the local IMAP service: OK [CAPABILITY ...] lists post-login caps."""
    front.deliver("bob", MESSAGE)
    client = imaplib.IMAP4("127.0.0.1", front.ports["imap"], timeout=20)
    typ, data = client.login("bob", "bob-pw")
    assert typ == "OK"
    text = data[0].decode()
    assert text.startswith("[CAPABILITY IMAP4rev1 ")
    # Only the authenticated state offers these (RFC 3501 7.1: capabilities change at login).
    assert " NAMESPACE " in text and " CONDSTORE " in text and "STARTTLS" not in text
    typ, data = client.select("INBOX")
    assert typ == "OK" and int(data[0]) >= 1
    typ, data = client.fetch("1:*", "(BODY.PEEK[])")
    assert typ == "OK" and any(
        b"served here" in part[1] for part in data if isinstance(part, tuple)
    )
    assert client.logout()[0] == "BYE"


def test_starttls_then_login_is_served_locally_over_tls(front: LocalFront) -> None:
    """STARTTLS at the front end stays in place: the local service logs the login as TLS."""
    client = imaplib.IMAP4("127.0.0.1", front.ports["imap"], timeout=20)
    client.starttls(_no_verify())
    assert client.login("alice", "alice-pw")[0] == "OK"
    assert client.select("INBOX")[0] == "OK"
    assert client.noop()[0] == "OK"
    client.logout()
    assert re.search(
        r"imap\(alice\)<\w+>: Logged in from 127\.0\.0\.1 \(TLS\)", front.server.log_text()
    )


def test_implicit_tls_authenticate_plain(front: LocalFront) -> None:
    """AUTHENTICATE PLAIN on the front end's IMAPS port continues in the local service."""
    client = imaplib.IMAP4_SSL(
        "127.0.0.1", front.ports["imaps"], ssl_context=_no_verify(), timeout=20
    )
    typ, data = client.authenticate("PLAIN", lambda _: b"\0user1\0pw1")
    assert typ == "OK" and data[0].startswith(b"[CAPABILITY IMAP4rev1 ")
    typ, data = client.list()
    assert typ == "OK" and any(b"INBOX" in line for line in data)
    client.logout()


def test_sasl_ir_and_pipelined_commands_after_it(front: LocalFront) -> None:
    """Commands pipelined with AUTHENTICATE (SASL-IR) are all answered, in order, once."""
    front.deliver("user2", MESSAGE)
    raw = Raw(front.ports["imap"])
    ir = base64.b64encode(b"\0user2\0pw2")
    raw.sock.sendall(
        b"a AUTHENTICATE PLAIN " + ir + b"\r\nb SELECT INBOX\r\n"
        b"c FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\nd LOGOUT\r\n"
    )
    lines = raw.until(b"d ")
    tagged = [line.split(b" ", 2)[:2] for line in lines if not line.startswith((b"*", b" "))]
    tagged = [t for t in tagged if t[0] in (b"a", b"b", b"c", b"d")]
    assert tagged == [[b"a", b"OK"], [b"b", b"OK"], [b"c", b"OK"], [b"d", b"OK"]]
    assert lines[0].startswith(b"a OK [CAPABILITY IMAP4rev1 ")
    assert any(b"Subject: handed over" in line for line in lines)
    raw.close()


def test_partial_command_and_literal_after_login_survive_the_handover(front: LocalFront) -> None:
    """Half a command sent with LOGIN, and a synchronizing literal after it, reach the service."""
    raw = Raw(front.ports["imap"])
    body = b"Subject: appended\r\n\r\nvia the front end\r\n"
    # The front end's framer has "b NOO" when it hands over; the service must get it.
    raw.sock.sendall(b"a LOGIN user3 pw3\r\nb NOO")
    assert raw.readline().startswith(b"a OK [CAPABILITY ")
    raw.sock.sendall(b"P\r\nc APPEND INBOX {%d}\r\n" % len(body))
    assert raw.until(b"b ")[-1].startswith(b"b OK")
    # RFC 3501 7.5: the client waits for "+" before the literal's octets.
    assert raw.readline().startswith(b"+ ")
    raw.sock.sendall(body + b"\r\n")
    assert raw.until(b"c ")[-1].startswith(b"c OK [APPENDUID ")
    raw.sock.sendall(b"d SELECT INBOX\r\ne FETCH 1 (BODY[TEXT])\r\n")
    lines = raw.until(b"e ")
    assert any(b"via the front end" in line for line in lines) and lines[-1].startswith(b"e OK")
    raw.close()


def test_idle_after_handover_reports_new_mail(front: LocalFront) -> None:
    """IDLE on a handed-over connection pushes EXISTS for a delivery (the ChangeHub works)."""
    front.deliver("user4", MESSAGE)
    raw = Raw(front.ports["imap"])
    raw.sock.sendall(b"a LOGIN user4 pw4\r\ns SELECT INBOX\r\n")
    exists = [x for x in raw.until(b"s OK") if x.endswith(b" EXISTS\r\n")]
    count = int(exists[-1].split()[1])
    raw.sock.sendall(b"i IDLE\r\n")
    assert raw.readline().startswith(b"+ ")
    front.deliver("user4", MESSAGE.replace("h1@x", "h2@x"))
    while not (line := raw.readline()).endswith(b" EXISTS\r\n"):
        pass
    assert line == b"* %d EXISTS\r\n" % (count + 1)
    raw.sock.sendall(b"DONE\r\n")
    assert raw.until(b"i ")[-1].startswith(b"i OK")
    raw.close()


def test_logs_name_the_real_client_and_one_session_id(front: LocalFront) -> None:
    """The front end's and the IMAP service's log lines share the session ID and client IP."""
    raw = Raw(front.ports["imap"])
    raw.sock.sendall(b"a LOGIN user5 pw5\r\nb LOGOUT\r\n")
    raw.until(b"b ")
    raw.close()
    log = front.server.log_text()
    front_ids, local_ids = _session_ids(log, "user5")
    assert front_ids and front_ids == local_ids
    sid = front_ids[0]
    assert f"imap-login(user5)<{sid}>: Login: user=<user5>, rip={CLIENT_IP}," in log
    assert f"imap(user5)<{sid}>: Logged in from {CLIENT_IP}" in log
    assert re.search(rf"imap\(user5\)<{sid}>: Logged out in=\d+ out=\d+", log)


def test_wrong_password_is_answered_by_the_front_end(front: LocalFront) -> None:
    """A failed login never reaches the local service: NO [AUTHENTICATIONFAILED], still usable."""
    client = imaplib.IMAP4("127.0.0.1", front.ports["imap"], timeout=20)
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        client.login("bob", "wrong")
    assert client.login("bob", "bob-pw")[0] == "OK"
    client.logout()


def test_large_literal_plus_append_pipelined_with_login(front: LocalFront) -> None:
    """An APPEND bigger than the pre-login literal limit, sent right behind LOGIN, is stored."""
    # Over 2 MiB: far past the pre-login literal limit (64 KiB) and what the front end holds.
    body = b"Subject: big\r\n\r\n" + b"0123456789abcdef\r\n" * 120_000
    raw = Raw(front.ports["imap"])
    raw.sock.sendall(
        b"a LOGIN user7 pw7\r\nb APPEND INBOX {%d+}\r\n" % len(body) + body + b"\r\nc NOOP\r\n"
    )
    lines = raw.until(b"c ")
    tagged = [line for line in lines if line[:2] in (b"a ", b"b ", b"c ")]
    assert [t[:4] for t in tagged] == [b"a OK", b"b OK", b"c OK"]
    raw.sock.sendall(b"d SELECT INBOX\r\ne FETCH 1 (RFC822.SIZE)\r\n")
    assert any(b"RFC822.SIZE %d" % len(body) in x for x in raw.until(b"e OK"))
    raw.close()


def test_compress_deflate_after_handover(front: LocalFront) -> None:
    """COMPRESS DEFLATE works on an adopted connection: both directions compressed (RFC 4978)."""
    raw = Raw(front.ports["imap"])
    raw.sock.sendall(b"a LOGIN user1 pw1\r\nz COMPRESS DEFLATE\r\n")
    assert raw.until(b"z ")[-1].startswith(b"z OK")
    deflate = zlib.compressobj(wbits=-15)
    inflate = zlib.decompressobj(wbits=-15)
    raw.sock.sendall(deflate.compress(b"n NOOP\r\n") + deflate.flush(zlib.Z_SYNC_FLUSH))
    answer = b""
    while b"\r\n" not in answer:
        chunk = raw.sock.recv(4096)
        assert chunk, "the server closed the connection"
        answer += inflate.decompress(chunk)
    assert answer.startswith(b"n OK")
    raw.close()


def _maildir_files(root: Path) -> list[str]:
    return glob.glob(str(root / "cur" / "*")) + glob.glob(str(root / "new" / "*"))


@pytest.mark.external
@pytest.mark.skipif(shutil.which("mbsync") is None, reason="isync (mbsync) is not installed")
def test_mbsync_two_way_through_the_front_end(front: LocalFront, tmp_path: Path) -> None:
    """mbsync over STARTTLS to the front end syncs both ways with the user's local Maildir."""
    front.deliver("user8", "Subject: for mbsync\nMessage-ID: <m1@x>\n\nsync me\n")
    local = tmp_path / "local"
    local.mkdir()
    cert = os.path.join(front.server.base_dir, "var/tls/cert.pem")
    rc = tmp_path / "mbsyncrc"
    rc.write_text(
        f"""IMAPAccount acc
Host localhost
Port {front.ports["imap"]}
User user8
Pass pw8
SSLType STARTTLS
CertificateFile {cert}
AuthMechs LOGIN

IMAPStore remote
Account acc

MaildirStore near
Path {local}/
Inbox {local}/INBOX

Channel ch
Far :remote:
Near :near:
Patterns INBOX
Create Both
Expunge Both
SyncState *
"""
    )

    def sync() -> None:
        run = subprocess.run(
            ["mbsync", "-c", str(rc), "-a"], capture_output=True, text=True, timeout=120
        )
        assert run.returncode == 0, run.stdout + run.stderr

    sync()
    pulled = [Path(p).read_bytes() for p in _maildir_files(local / "INBOX")]
    assert any(b"sync me" in body for body in pulled)
    server_root = Path(front.server.mail_root("user8"))
    before = len(_maildir_files(server_root))
    (local / "INBOX" / "new" / "1700000000.local.host").write_bytes(
        b"From: me@example.org\nSubject: pushed\nMessage-ID: <p1@x>\n\npushed body\n"
    )
    sync()
    after = _maildir_files(server_root)
    assert len(after) == before + 1
    assert any(b"pushed body" in Path(p).read_bytes() for p in after)
    assert "imap-login(user8)" in front.server.log_text()


def test_store_that_cannot_open_gets_no_and_the_connection_stays(front: LocalFront) -> None:
    """A mail root that is not a directory: the local service answers NO, and LOGOUT still works."""
    root = Path(front.server.mail_root("tlsuser"))
    root.parent.mkdir(parents=True, exist_ok=True)
    root.write_text("not a Maildir\n")
    raw = Raw(front.ports["imap"])
    raw.sock.sendall(b"a LOGIN tlsuser tls-pw\r\nb SELECT INBOX\r\nc LOGOUT\r\n")
    lines = raw.until(b"c ")
    tagged = [x[:4] for x in lines if x[:2] in (b"a ", b"b ", b"c ")]
    assert tagged == [b"a NO", b"b BA", b"c OK"]  # SELECT is not allowed before a login
    raw.close()
    assert "imap(tlsuser)" in front.server.log_text()
    assert "cannot open the mail store" in front.server.log_text()


def test_trusted_front_end_names_the_real_client_to_the_local_service(front: LocalFront) -> None:
    """ID x-originating-ip from a trusted proxy becomes the address the IMAP service logs."""
    raw = Raw(front.ports["imap"], source=TRUSTED_PROXY_IP)
    raw.sock.sendall(
        b'a ID ("x-originating-ip" "192.0.2.9" "x-session-id" "outer1")\r\n'
        b"b LOGIN user6 pw6\r\nc LOGOUT\r\n"
    )
    assert [x[:4] for x in raw.until(b"c ") if x[:2] in (b"a ", b"b ", b"c ")] == [
        b"a OK",
        b"b OK",
        b"c OK",
    ]
    raw.close()
    assert re.search(r"imap\(user6\)<\w+>: Logged in from 192\.0\.2\.9", front.server.log_text())
