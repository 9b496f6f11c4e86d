"""IMAP through a front end that serves its users in-process: the local IMAP service adopts them."""

from __future__ import annotations

import base64
import imaplib
import re
import socket
import ssl
from collections.abc import Iterator

import pytest

from .conftest import CLIENT_IP, LocalFront, start_local_front

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

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), 20, source_address=(CLIENT_IP, 0))
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
    assert typ == "OK" and any(b"served here" in part[1] for part in data if isinstance(part, tuple))
    assert client.logout()[0] == "BYE"


def test_starttls_then_login_is_served_locally_over_tls(front: LocalFront) -> None:
    """STARTTLS at the front end stays in place: the local service logs the login as TLS."""
    client = imaplib.IMAP4("127.0.0.1", front.ports["imap"], timeout=20)
    client.starttls(_no_verify())
    assert client.login("alice", "alice-pw")[0] == "OK"
    assert client.select("INBOX")[0] == "OK"
    assert client.noop()[0] == "OK"
    client.logout()
    assert re.search(r"imap\(alice\)<\w+>: Logged in from 127\.0\.0\.1 \(TLS\)", front.server.log_text())


def test_implicit_tls_authenticate_plain(front: LocalFront) -> None:
    """AUTHENTICATE PLAIN on the front end's IMAPS port continues in the local service."""
    client = imaplib.IMAP4_SSL("127.0.0.1", front.ports["imaps"], ssl_context=_no_verify(), timeout=20)
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
    """The front end's login line and the IMAP service's lines share the session ID and client IP."""
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
