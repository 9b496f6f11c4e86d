"""POP3 through a front end that serves its users in-process: the local POP3 service adopts them."""

from __future__ import annotations

import base64
import poplib
import re
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import CLIENT_IP, LocalFront, start_local_front

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def front(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalFront]:
    yield from start_local_front(tmp_path_factory)


def _no_verify() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _lines(sock: socket.socket) -> Iterator[bytes]:
    f = sock.makefile("rb")
    while line := f.readline():
        yield line


def test_user_pass_then_stat_retr_dele_quit(front: LocalFront) -> None:
    """USER/PASS at the front end, then STAT, RETR, DELE and QUIT are served by the POP3 service."""
    front.deliver("bob", "Subject: local\n\nserved here\n")
    client = poplib.POP3("127.0.0.1", front.ports["pop3"], timeout=20)
    client.user("bob")
    assert client.pass_("bob-pw").startswith(b"+OK")
    count = client.stat()[0]
    assert count >= 1
    assert any(b"served here" in client.retr(i)[1][-1] for i in range(1, count + 1))
    assert client.dele(1).startswith(b"+OK")
    assert client.quit().startswith(b"+OK")
    # RFC 1939 6: DELE took effect at QUIT (UPDATE), in the real Maildir.
    client = poplib.POP3("127.0.0.1", front.ports["pop3"], timeout=20)
    client.user("bob")
    client.pass_("bob-pw")
    assert client.stat()[0] == count - 1
    client.quit()


def test_stls_then_login_is_served_locally(front: LocalFront) -> None:
    """STLS at the front end stays in place; after login CAPA is that of a direct POP3S login."""
    front.deliver("alice", "Subject: tls\n\nover tls\n")
    client = poplib.POP3("127.0.0.1", front.ports["pop3"], timeout=20)
    client.stls(_no_verify())
    client.user("alice")
    assert client.pass_("alice-pw").startswith(b"+OK")
    caps = client.capa()
    assert "STLS" not in caps and "UIDL" in caps
    assert len(client.uidl()[1]) >= 1
    client.quit()
    direct = poplib.POP3_SSL("127.0.0.1", front.server.pop3s_port, context=_no_verify(), timeout=20)
    direct.user("alice")
    direct.pass_("alice-pw")
    assert direct.capa() == caps
    direct.quit()


def test_implicit_tls_auth_plain(front: LocalFront) -> None:
    """AUTH PLAIN with an initial response on the front end's POP3S port continues locally."""
    front.deliver("user1", "Subject: s\n\npop3s\n")
    client = poplib.POP3_SSL("127.0.0.1", front.ports["pop3s"], context=_no_verify(), timeout=20)
    ir = base64.b64encode(b"\0user1\0pw1").decode()
    assert client._shortcmd(f"AUTH PLAIN {ir}").startswith(b"+OK")
    assert client.stat()[0] >= 1
    client.quit()


def test_commands_pipelined_with_pass_are_answered_in_order(front: LocalFront) -> None:
    """USER, PASS, STAT, a half-sent LIST and QUIT in one go: every answer, in order (RFC 2449)."""
    front.deliver("user2", "Subject: p\n\npipelined\n")
    with socket.create_connection(
        ("127.0.0.1", front.ports["pop3"]), 20, source_address=(CLIENT_IP, 0)
    ) as sock:
        lines = _lines(sock)
        assert next(lines).startswith(b"+OK")
        sock.sendall(b"USER user2\r\nPASS pw2\r\nSTAT\r\nLI")
        assert next(lines).startswith(b"+OK")  # USER
        assert next(lines).startswith(b"+OK Logged in")  # PASS, from the POP3 service
        assert re.match(rb"\+OK 1 \d+\r\n", next(lines))
        # "LI" was still in the front end's line buffer at the handover.
        sock.sendall(b"ST\r\nQUIT\r\n")
        assert next(lines).startswith(b"+OK")
        assert re.match(rb"1 \d+\r\n", next(lines))
        assert next(lines) == b".\r\n"
        assert next(lines).startswith(b"+OK")
        assert next(lines, b"") == b""  # closed after QUIT


def test_logs_name_the_real_client_and_one_session_id(front: LocalFront) -> None:
    """The front end's and the POP3 service's log lines share the session ID and client IP."""
    with socket.create_connection(
        ("127.0.0.1", front.ports["pop3"]), 20, source_address=(CLIENT_IP, 0)
    ) as sock:
        lines = _lines(sock)
        next(lines)
        sock.sendall(b"USER user6\r\nPASS pw6\r\nQUIT\r\n")
        assert [next(lines)[:3] for _ in range(3)] == [b"+OK"] * 3
    log = front.server.log_text()
    found = re.search(rf"pop3-login\(user6\)<(\w+)>: Login: user=<user6>, rip={CLIENT_IP},", log)
    assert found is not None
    assert f"pop3(user6)<{found.group(1)}>: Logged in from {CLIENT_IP}" in log


def test_failed_login_stays_at_the_front_end(front: LocalFront) -> None:
    """A wrong password gets -ERR [AUTH] from the front end, and a retry still works."""
    client = poplib.POP3("127.0.0.1", front.ports["pop3"], timeout=20)
    client.user("bob")
    with pytest.raises(poplib.error_proto, match="AUTH"):
        client.pass_("wrong")
    client.user("bob")
    assert client.pass_("bob-pw").startswith(b"+OK")
    client.quit()


def test_maildrop_that_cannot_open_gets_err_and_a_log_line(front: LocalFront) -> None:
    """A mail root that is not a directory: -ERR from the POP3 service, the reason in the log."""
    root = Path(front.server.mail_root("user7"))
    root.parent.mkdir(parents=True, exist_ok=True)
    root.write_text("not a Maildir\n")
    client = poplib.POP3("127.0.0.1", front.ports["pop3"], timeout=20)
    client.user("user7")
    with pytest.raises(poplib.error_proto, match="-ERR"):
        client.pass_("pw7")
    assert client.quit().startswith(b"+OK")
    assert "pop3(user7)" in front.server.log_text()
    assert "cannot open the maildrop" in front.server.log_text()
