"""STARTTLS and implicit TLS (IMAPS) with real TLS on loopback."""

from __future__ import annotations

import imaplib
import socket

from tests.support.server import RunningServer

from .conftest import Raw, client_tls


def test_starttls_then_login(server: RunningServer, user: tuple[str, str]) -> None:
    """imaplib's STARTTLS upgrades the connection; STARTTLS is then no longer offered."""
    m = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=20)
    try:
        assert "STARTTLS" in m.capabilities
        m.starttls(ssl_context=client_tls(server))
        assert "STARTTLS" not in m.capabilities
        assert m.login(*user)[0] == "OK"
        assert m.select("INBOX")[0] == "OK"
    finally:
        m.logout()


def test_starttls_discards_pipelined_plaintext(server: RunningServer) -> None:
    """Commands pipelined after STARTTLS in plaintext are not run inside TLS (CVE-2011-0411)."""
    sock = socket.create_connection(("127.0.0.1", server.imap_port), timeout=20)
    try:
        f = sock.makefile("rb")
        f.readline()
        sock.sendall(b"t1 STARTTLS\r\nt2 CAPABILITY\r\n")
        assert f.readline() == b"t1 OK Begin TLS negotiation now.\r\n"
        tls = client_tls(server).wrap_socket(sock)
        tls.sendall(b"t3 NOOP\r\n")
        tf = tls.makefile("rb")
        assert tf.readline() == b"t3 OK NOOP completed.\r\n"
        tls.close()
    finally:
        sock.close()


def test_starttls_twice_is_refused(server: RunningServer) -> None:
    """STARTTLS inside TLS is BAD."""
    m = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=20)
    try:
        m.starttls(ssl_context=client_tls(server))
        typ, data = m._simple_command("STARTTLS")
    except imaplib.IMAP4.error as e:
        assert "TLS is already active" in str(e)
    else:
        raise AssertionError(f"second STARTTLS accepted: {typ} {data}")
    finally:
        m.logout()


def test_imaps_login_and_fetch(server: RunningServer, user: tuple[str, str]) -> None:
    """IMAPS: the greeting arrives inside TLS without STARTTLS, and login works."""
    raw = Raw(server.imaps_port, client_tls(server))
    try:
        greeting = raw.line()
        assert greeting.startswith(b"* OK [CAPABILITY ") and b"STARTTLS" not in greeting
        assert raw.cmd(b"a", b"LOGIN %s %s" % (user[0].encode(), user[1].encode())).startswith(
            b"a OK "
        )
        assert raw.cmd(b"b", b"SELECT INBOX").endswith(b"b OK [READ-WRITE] Select completed.\r\n")
    finally:
        raw.close()
