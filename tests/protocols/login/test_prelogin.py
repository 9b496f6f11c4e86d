"""The front ends' pre-login dialogue, byte for byte over a real socket."""

from __future__ import annotations

import base64
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

from .conftest import Cluster


@contextmanager
def _talk(port: int) -> Iterator[tuple[socket.socket, BinaryIO]]:
    with socket.create_connection(("127.0.0.1", port), 30) as sock:
        yield sock, sock.makefile("rb")


def test_imap_prelogin_commands(cluster: Cluster) -> None:
    """Greeting with capabilities, CAPABILITY, NOOP, and BAD for commands that need a login."""
    with _talk(cluster.front_ports["imap"]) as (sock, f):
        greeting = f.readline()
        assert greeting.startswith(b"* OK [CAPABILITY IMAP4rev1 ")
        assert b" STARTTLS" in greeting and b"AUTH=PLAIN" in greeting
        sock.sendall(b"a1 CAPABILITY\r\na2 NOOP\r\na3 SELECT INBOX\r\n)(\r\n")
        assert f.readline().startswith(b"* CAPABILITY IMAP4rev1")
        assert f.readline() == b"a1 OK Capability completed.\r\n"
        assert f.readline() == b"a2 OK NOOP completed.\r\n"
        assert f.readline() == b"a3 BAD SELECT is not allowed before login.\r\n"
        assert b"BAD" in f.readline()
        sock.sendall(b"a4 LOGOUT\r\n")
        assert f.readline().startswith(b"* BYE")
        assert f.readline() == b"a4 OK Logout completed.\r\n"


def test_imap_login_with_synchronizing_literals(cluster: Cluster) -> None:
    """LOGIN {5} / {8}: each literal gets "+" and the login goes through to the backend."""
    with _talk(cluster.front_ports["imap"]) as (sock, f):
        f.readline()
        sock.sendall(b"a1 LOGIN {5}\r\n")
        assert f.readline().startswith(b"+ ")
        sock.sendall(b"alice {8}\r\n")
        assert f.readline().startswith(b"+ ")
        sock.sendall(b"alice-pw\r\n")
        assert f.readline().startswith(b"a1 OK [CAPABILITY ")
        sock.sendall(b"a2 LOGOUT\r\n")
        assert f.readline().startswith(b"* BYE")


def test_imap_authenticate_challenge_cancel_and_unknown(cluster: Cluster) -> None:
    """AUTHENTICATE without SASL-IR gets "+ "; "*" cancels with BAD; unknown mechanisms get NO."""
    with _talk(cluster.front_ports["imap"]) as (sock, f):
        f.readline()
        sock.sendall(b"a1 AUTHENTICATE PLAIN\r\n")
        assert f.readline() == b"+ \r\n"
        sock.sendall(b"*\r\n")
        assert f.readline() == b"a1 BAD Authentication cancelled.\r\n"
        sock.sendall(b"a2 AUTHENTICATE X-NOPE\r\n")
        assert f.readline().startswith(b"a2 NO [CANNOT]")
        sock.sendall(b"a3 AUTHENTICATE PLAIN\r\n")
        assert f.readline() == b"+ \r\n"
        sock.sendall(base64.b64encode(b"\0alice\0alice-pw") + b"\r\n")
        assert f.readline().startswith(b"a3 OK [CAPABILITY ")


def test_pop3_prelogin_commands(cluster: Cluster) -> None:
    """CAPA lists STLS, USER and SASL; transaction commands and PASS without USER get -ERR."""
    with _talk(cluster.front_ports["pop3"]) as (sock, f):
        assert f.readline().startswith(b"+OK")
        sock.sendall(b"CAPA\r\n")
        caps = []
        line = f.readline()
        assert line.startswith(b"+OK")
        while (line := f.readline()) != b".\r\n":
            caps.append(line.strip())
        assert b"STLS" in caps and b"USER" in caps
        assert any(c.startswith(b"SASL ") and b"PLAIN" in c for c in caps)
        sock.sendall(b"STAT\r\nPASS x\r\nAUTH X-NOPE\r\n")
        assert f.readline().startswith(b"-ERR STAT is not valid")
        assert f.readline().startswith(b"-ERR No user name")
        assert f.readline().startswith(b"-ERR Unsupported")
        sock.sendall(b"AUTH PLAIN\r\n")
        assert f.readline() == b"+ \r\n"
        sock.sendall(base64.b64encode(b"\0alice\0alice-pw") + b"\r\n")
        assert f.readline().startswith(b"+OK")
        sock.sendall(b"QUIT\r\n")
        assert f.readline().startswith(b"+OK")


def _tls(port: int) -> tuple[socket.socket, BinaryIO]:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), 30))
    return sock, sock.makefile("rb")


def test_logout_and_quit_answers_arrive_over_tls(cluster: Cluster) -> None:
    """On implicit TLS the BYE/OK of LOGOUT and the +OK of QUIT are sent before the close."""
    sock, f = _tls(cluster.front_ports["imaps"])
    with sock:
        f.readline()
        sock.sendall(b"a1 LOGOUT\r\n")
        assert f.readline().startswith(b"* BYE")
        assert f.readline() == b"a1 OK Logout completed.\r\n"
        assert f.readline() == b""
    sock, f = _tls(cluster.front_ports["pop3s"])
    with sock:
        f.readline()
        sock.sendall(b"QUIT\r\n")
        assert f.readline() == b"+OK Logging out.\r\n"
        assert f.readline() == b""
