"""POP3 through the front end to real backend processes, with poplib."""

from __future__ import annotations

import base64
import poplib
import socket
import ssl
from typing import Any

import pytest

from mailsuite.protocols.login.routing import HashRing

from .conftest import CLIENT_IP, USERS, Cluster

pytestmark = pytest.mark.slow


def _bound(cls: type[Any]) -> type[Any]:
    class Bound(cls):  # type: ignore[misc, valid-type]
        """poplib client whose connection comes from CLIENT_IP."""

        def _create_socket(self, timeout: float) -> socket.socket:
            sock = socket.create_connection(
                (self.host, self.port), timeout, source_address=(CLIENT_IP, 0)
            )
            context = getattr(self, "context", None)
            if context is not None:  # POP3_SSL: implicit TLS from the first byte
                sock = context.wrap_socket(sock, server_hostname=self.host)
            return sock

    return Bound


POP3 = _bound(poplib.POP3)
POP3_SSL = _bound(poplib.POP3_SSL)


def _no_verify() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def test_passdb_route_relays_mail_and_shows_client_ip(cluster: Cluster) -> None:
    """A passdb host sends alice to backend 1: she reads its mail, its log shows her IP."""
    cluster.deliver("127.0.0.2", "alice", "Subject: via proxy\n\nhello through the relay\n")
    client = POP3("127.0.0.1", cluster.front_ports["pop3"], timeout=20)
    client.user("alice")
    assert client.pass_("alice-pw").startswith(b"+OK")
    count, _size = client.stat()
    assert count >= 1
    _resp, lines, _octets = client.retr(count)
    assert b"hello through the relay" in lines
    local_port = client.sock.getsockname()[1]
    client.quit()
    log = cluster.backends["127.0.0.2"].log_text()
    assert f"connection from {CLIENT_IP}:{local_port} via front end" in log
    assert f"pop3(alice,{CLIENT_IP})" in log


def test_stls_then_login_is_proxied(cluster: Cluster) -> None:
    """STLS on the front end's plain port, then USER/PASS, reaches the backend."""
    client = POP3("127.0.0.1", cluster.front_ports["pop3"], timeout=20)
    client.stls(_no_verify())
    client.user("alice")
    assert client.pass_("alice-pw").startswith(b"+OK")
    assert client.noop().startswith(b"+OK")
    client.quit()


def test_implicit_tls_and_auth_plain_are_proxied(cluster: Cluster) -> None:
    """POP3S with AUTH PLAIN through the front end logs in at the backend."""
    client = POP3_SSL("127.0.0.1", cluster.front_ports["pop3s"], timeout=20, context=_no_verify())
    blob = base64.b64encode(b"\0alice\0alice-pw").decode()
    assert client._shortcmd(f"AUTH PLAIN {blob}").startswith(b"+OK")
    assert client.stat()[0] >= 0
    client.quit()


def test_wrong_password_is_refused_at_the_front_end(cluster: Cluster) -> None:
    """A wrong password gets -ERR [AUTH] from the front end and never reaches a backend."""
    client = POP3("127.0.0.1", cluster.front_ports["pop3"], timeout=30)
    client.user("alice")
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        client.pass_("wrong")
    client.quit()


def test_hashing_is_consistent_and_matches_the_ring(cluster: Cluster) -> None:
    """Hashed users land on the backend the ring names, every time they log in."""
    ring = HashRing(["127.0.0.2", "127.0.0.3"])
    users = [u for u in USERS if u.startswith("user") and u != "user8"]
    for _round in range(2):
        for user in users:
            client = POP3("127.0.0.1", cluster.front_ports["pop3"], timeout=20)
            client.user(user)
            assert client.pass_(USERS[user]).startswith(b"+OK")
            client.quit()
    owners = {ring.node_for(u) for u in users}
    assert owners == {"127.0.0.2", "127.0.0.3"}, "test users should cover both backends"
    for user in users:
        mine = ring.node_for(user)
        other = "127.0.0.3" if mine == "127.0.0.2" else "127.0.0.2"
        assert cluster.backends[mine].log_text().count(f"pop3({user},{CLIENT_IP})") >= 2
        assert f"pop3({user}," not in cluster.backends[other].log_text()


def test_backend_down_gives_sys_temp_and_a_log_line(cluster: Cluster) -> None:
    """A backend that refuses connections gives -ERR [SYS/TEMP] and a front-end log line."""
    client = POP3("127.0.0.1", cluster.front_ports["pop3"], timeout=30)
    client.user("down")
    with pytest.raises(poplib.error_proto, match=r"\[SYS/TEMP\]"):
        client.pass_("down-pw")
    client.quit()
    assert f"proxy to 127.0.0.1:{cluster.down_port} failed for down" in cluster.front.log_text()


def test_starttls_to_the_backend(cluster: Cluster) -> None:
    """A passdb starttls field makes the front end STLS to the backend before logging in."""
    client = POP3("127.0.0.1", cluster.front_ports["pop3"], timeout=20)
    client.user("user8")
    assert client.pass_(USERS["user8"]).startswith(b"+OK")
    assert client.noop().startswith(b"+OK")
    client.quit()
    assert f"pop3(user8,{CLIENT_IP})" in cluster.backends["127.0.0.3"].log_text()


def test_commands_pipelined_after_a_failed_proxy_login_are_answered(cluster: Cluster) -> None:
    """PASS for a down backend, pipelined with CAPA and QUIT: three answers, in order."""
    with socket.create_connection(("127.0.0.1", cluster.front_ports["pop3"]), 30) as sock:
        f = sock.makefile("rb")
        assert f.readline().startswith(b"+OK")
        sock.sendall(b"USER down\r\nPASS down-pw\r\nCAPA\r\nQUIT\r\n")
        assert f.readline().startswith(b"+OK")
        assert f.readline().startswith(b"-ERR [SYS/TEMP]")
        assert f.readline().startswith(b"+OK")  # CAPA
        while f.readline() != b".\r\n":
            pass
        assert f.readline().startswith(b"+OK")  # QUIT


def test_implicit_tls_to_the_backend(cluster: Cluster) -> None:
    """passdb ssl=any-cert reaches the backend's POP3S port (no PROXY header: proxy_protocol=no)."""
    client = POP3("127.0.0.1", cluster.front_ports["pop3"], timeout=20)
    client.user("tlsuser")
    assert client.pass_(USERS["tlsuser"]).startswith(b"+OK")
    assert client.noop().startswith(b"+OK")
    client.quit()
    # Without the PROXY header the backend sees the front end's address, not the client's.
    assert "pop3(tlsuser,127.0.0.1)" in cluster.backends["127.0.0.3"].log_text()
