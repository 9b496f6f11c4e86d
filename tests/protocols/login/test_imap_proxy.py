"""IMAP through the front end to real backend processes, with imaplib."""

from __future__ import annotations

import imaplib
import smtplib
import socket
import ssl
import time
from typing import Any

import pytest

from mailsuite.protocols.login.routing import HashRing

from .conftest import CLIENT_IP, USERS, Cluster

pytestmark = pytest.mark.slow


def _bound(cls: type[Any]) -> type[Any]:
    class Bound(cls):  # type: ignore[misc, valid-type]
        """imaplib client whose connection comes from CLIENT_IP."""

        def _create_socket(self, timeout: float | None) -> socket.socket:
            sock = socket.create_connection(
                (self.host, self.port), timeout, source_address=(CLIENT_IP, 0)
            )
            context = getattr(self, "ssl_context", None)
            if context is not None:  # IMAP4_SSL: implicit TLS from the first byte
                sock = context.wrap_socket(sock, server_hostname=self.host)
            return sock

    return Bound


IMAP4 = _bound(imaplib.IMAP4)
IMAP4_SSL = _bound(imaplib.IMAP4_SSL)


def _no_verify() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def test_login_relays_mailbox_and_backend_capabilities(cluster: Cluster) -> None:
    """LOGIN reaches backend 1 by passdb field; the client gets its capabilities and mail."""
    cluster.deliver("127.0.0.2", "alice", "Subject: imap via proxy\n\nimap relay body\n")
    client = IMAP4("127.0.0.1", cluster.front_ports["imap"], timeout=20)
    assert "STARTTLS" in client.capabilities
    typ, answer = client.login("alice", "alice-pw")
    assert typ == "OK"
    # RFC 3501 7.1: the tagged OK carries the backend's post-login capabilities.
    assert b"[CAPABILITY " in answer[0] and b"UIDPLUS" in answer[0]
    typ, caps = client.capability()
    assert typ == "OK" and b"UIDPLUS" in caps[0] and b"STARTTLS" not in caps[0]
    typ, count = client.select("INBOX")
    assert typ == "OK" and int(count[0]) >= 1
    typ, fetched = client.fetch(count[0], "(BODY[])")
    assert typ == "OK"
    assert b"imap relay body" in fetched[0][1]
    local_port = client.sock.getsockname()[1]
    client.logout()
    log = cluster.backends["127.0.0.2"].log_text()
    assert f"connection from {CLIENT_IP}:{local_port} via front end" in log
    assert f"imap(alice,{CLIENT_IP})" in log
    assert f"x-originating-ip={CLIENT_IP}" in log


def test_starttls_then_login_is_proxied(cluster: Cluster) -> None:
    """STARTTLS on the front end, then LOGIN, gives a working backend session."""
    client = IMAP4("127.0.0.1", cluster.front_ports["imap"], timeout=20)
    client.starttls(_no_verify())
    assert client.login("alice", "alice-pw")[0] == "OK"
    assert client.noop()[0] == "OK"
    client.logout()


def test_implicit_tls_authenticate_plain_is_proxied(cluster: Cluster) -> None:
    """IMAPS with AUTHENTICATE PLAIN through the front end logs in at the backend."""
    client = IMAP4_SSL(
        "127.0.0.1", cluster.front_ports["imaps"], timeout=20, ssl_context=_no_verify()
    )
    typ, _ = client.authenticate("PLAIN", lambda _challenge: b"\0alice\0alice-pw")
    assert typ == "OK"
    assert client.select("INBOX")[0] == "OK"
    client.logout()


def test_wrong_password_gets_authenticationfailed(cluster: Cluster) -> None:
    """A wrong password is refused by the front end with NO [AUTHENTICATIONFAILED]."""
    client = IMAP4("127.0.0.1", cluster.front_ports["imap"], timeout=30)
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        client.login("alice", "nope")
    client.logout()


def test_imap_hashing_matches_the_ring(cluster: Cluster) -> None:
    """Hashed IMAP users land on the ring's backend, the same one as for POP3."""
    ring = HashRing(["127.0.0.2", "127.0.0.3"])
    users = [u for u in USERS if u.startswith("user") and u != "user8"][:4]
    for user in users:
        for _round in range(2):
            client = IMAP4("127.0.0.1", cluster.front_ports["imap"], timeout=20)
            assert client.login(user, USERS[user])[0] == "OK"
            client.logout()
    for user in users:
        mine = ring.node_for(user)
        other = "127.0.0.3" if mine == "127.0.0.2" else "127.0.0.2"
        assert cluster.backends[mine].log_text().count(f"imap({user},{CLIENT_IP})") >= 2
        assert f"imap({user}," not in cluster.backends[other].log_text()


def test_backend_down_gives_unavailable(cluster: Cluster) -> None:
    """A backend that refuses connections gives NO [UNAVAILABLE] and a front-end log line."""
    client = IMAP4("127.0.0.1", cluster.front_ports["imap"], timeout=30)
    with pytest.raises(imaplib.IMAP4.error, match=r"UNAVAILABLE"):
        client.login("down", "down-pw")
    assert client.noop()[0] == "OK"  # the connection stays usable
    client.logout()
    assert "proxy to 127.0.0.1" in cluster.front.log_text()


def test_half_command_pipelined_behind_a_refused_login_is_answered(cluster: Cluster) -> None:
    """After NO [UNAVAILABLE], the rest of a command sent with the LOGIN still completes once."""
    with socket.create_connection(("127.0.0.1", cluster.front_ports["imap"]), 30) as sock:
        f = sock.makefile("rb")
        f.readline()
        sock.sendall(b"a LOGIN down down-pw\r\nb NOO")
        assert f.readline().startswith(b"a NO [UNAVAILABLE]")
        sock.sendall(b"P\r\nc LOGOUT\r\n")
        assert f.readline() == b"b OK NOOP completed.\r\n"
        assert f.readline().startswith(b"* BYE")


def test_route_to_ourselves_is_refused_as_a_loop(cluster: Cluster) -> None:
    """A passdb route pointing at the front end's own port is refused, not followed."""
    client = IMAP4("127.0.0.1", cluster.front_ports["imap"], timeout=30)
    with pytest.raises(imaplib.IMAP4.error, match="UNAVAILABLE"):
        client.login("loop", "loop-pw")
    client.logout()
    assert "is this front end itself: proxying loops" in cluster.front.log_text()


def test_exhausted_ttl_from_a_trusted_proxy_stops_proxying(cluster: Cluster) -> None:
    """ID x-proxy-ttl 0 from a trusted network means one more hop would be a loop."""
    client = IMAP4("127.0.0.1", cluster.front_ports["imap"], timeout=30)
    typ, _ = client.xatom("ID", '("x-proxy-ttl" "0" "x-originating-ip" "192.0.2.44")')
    assert typ == "OK"
    with pytest.raises(imaplib.IMAP4.error, match="UNAVAILABLE"):
        client.login("alice", "alice-pw")
    client.logout()
    log = cluster.front.log_text()
    assert "proxy TTL exhausted" in log
    assert "rip=192.0.2.44" in log  # the trusted peer's x-originating-ip was taken


def test_starttls_to_the_backend(cluster: Cluster) -> None:
    """A passdb starttls field makes the front end STARTTLS to the backend before LOGIN."""
    client = IMAP4("127.0.0.1", cluster.front_ports["imap"], timeout=20)
    assert client.login("user8", USERS["user8"])[0] == "OK"
    assert client.select("INBOX")[0] == "OK"
    client.logout()
    assert f"imap(user8,{CLIENT_IP})" in cluster.backends["127.0.0.3"].log_text()


def test_backend_that_never_answers_times_out_to_unavailable(cluster: Cluster) -> None:
    """A backend that accepts but stays silent gets NO [UNAVAILABLE] after login_timeout_s."""
    client = IMAP4("127.0.0.1", cluster.front_ports["imap"], timeout=30)
    with pytest.raises(imaplib.IMAP4.error, match="UNAVAILABLE"):
        client.login("mute", "mute-pw")
    client.logout()
    assert "no login answer within 3s" in cluster.front.log_text()


def test_per_user_ip_connection_limit_applies_at_the_front_end(cluster: Cluster) -> None:
    """The 11th proxied session of one user from one IP is refused with NO [LIMIT]."""
    open_clients = []
    try:
        for _ in range(10):
            client = IMAP4("127.0.0.1", cluster.front_ports["imap"], timeout=20)
            assert client.login("user7", USERS["user7"])[0] == "OK"
            open_clients.append(client)
        extra = IMAP4("127.0.0.1", cluster.front_ports["imap"], timeout=20)
        with pytest.raises(imaplib.IMAP4.error, match=r"\[LIMIT\]"):
            extra.login("user7", USERS["user7"])
        extra.logout()
        ended = "imap-login(user7)"
        before = cluster.front.log_text().count("proxy session ended")
        open_clients.pop().logout()  # a proxied session ending frees its slot
        for _ in range(200):  # the front end logs the end once the backend has closed
            if cluster.front.log_text().count("proxy session ended") > before:
                break
            time.sleep(0.05)
        assert ended in cluster.front.log_text()
        again = IMAP4("127.0.0.1", cluster.front_ports["imap"], timeout=20)
        assert again.login("user7", USERS["user7"])[0] == "OK"
        open_clients.append(again)
    finally:
        for client in open_clients:
            client.logout()


def test_idle_push_passes_through_the_relay(cluster: Cluster) -> None:
    """A delivery on the backend reaches a client IDLE through the front end at once."""
    with socket.create_connection(("127.0.0.1", cluster.front_ports["imap"]), 30) as sock:
        f = sock.makefile("rb")
        f.readline()
        sock.sendall(b"a LOGIN bob bob-pw\r\n")
        while not f.readline().startswith(b"a OK"):
            pass
        sock.sendall(b"s SELECT INBOX\r\n")
        exists = b""
        while not (line := f.readline()).startswith(b"s OK"):
            if line.endswith(b" EXISTS\r\n"):
                exists = line
        count = int(exists.split()[1])
        sock.sendall(b"i IDLE\r\n")
        assert f.readline().startswith(b"+ ")
        owner = HashRing(["127.0.0.2", "127.0.0.3"]).node_for("bob")
        with smtplib.LMTP("127.0.0.1", cluster.backends[owner].lmtp_port, timeout=20) as lmtp:
            lmtp.sendmail("x@example.org", ["bob"], b"Subject: push\r\n\r\nbody\r\n")
        while not (line := f.readline()).endswith(b" EXISTS\r\n"):
            pass
        assert line == b"* %d EXISTS\r\n" % (count + 1)
        sock.sendall(b"DONE\r\n")
        while not (line := f.readline()).startswith(b"i "):
            pass
        assert line.startswith(b"i OK")
