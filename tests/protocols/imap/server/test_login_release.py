"""A login whose client vanishes mid-login is released (issue 4): real server, raw sockets."""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterator

import pytest

from tests.support.server import RunningServer, start_server

from .conftest import Raw

LIMIT = 2  # [auth] max_connections_per_user_ip for this module's server
ROUNDS = 8 * LIMIT  # far more dropped logins than the limit allows at once
SETTLE_S = 15.0  # how long the last login may wait for the server to finish cleaning up


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server that allows only LIMIT connections per user and IP."""
    overrides = {"auth": {"max_connections_per_user_ip": LIMIT}}
    with start_server(tmp_path_factory.mktemp("imaprel"), overrides) as running:
        yield running


def _drop_after(port: int, command: bytes) -> None:
    """Send one command right after the greeting and reset the connection at once."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=20)
    try:
        sock.recv(4096)  # greeting
        sock.sendall(command)
        # SO_LINGER 0: close sends RST, so the server sees the loss before answering.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    finally:
        sock.close()


def _login_works(server: RunningServer) -> bytes:
    """Log alice in normally, retrying while the server may still be cleaning up."""
    deadline = time.monotonic() + SETTLE_S
    while True:
        client = Raw(server.imap_port)
        try:
            client.line()
            reply = client.cmd(b"L", b"LOGIN alice alice-pw")
            if reply.startswith(b"L OK") or time.monotonic() > deadline:
                client.cmd(b"Z", b"LOGOUT")
                return reply
        finally:
            client.close()
        time.sleep(0.2)


def test_dropped_logins_release_the_per_user_ip_count(server: RunningServer) -> None:
    """Many LOGINs dropped before their answer leave no connection counted against the user."""
    for _ in range(ROUNDS):
        _drop_after(server.imap_port, b"a LOGIN alice alice-pw\r\n")
    reply = _login_works(server)
    assert reply.startswith(b"L OK"), reply


def test_dropped_authenticate_releases_the_per_user_ip_count(server: RunningServer) -> None:
    """Many AUTHENTICATE PLAIN (SASL-IR) dropped before their answer leave no count behind."""
    initial = b"AGFsaWNlAGFsaWNlLXB3"  # base64 of "\0alice\0alice-pw"
    for _ in range(ROUNDS):
        _drop_after(server.imap_port, b"a AUTHENTICATE PLAIN " + initial + b"\r\n")
    reply = _login_works(server)
    assert reply.startswith(b"L OK"), reply


def test_limit_still_holds_for_live_connections(server: RunningServer) -> None:
    """The limit itself still works: LIMIT live logins, then one more is refused."""
    live = [Raw(server.imap_port) for _ in range(LIMIT)]
    try:
        for client in live:
            client.login("alice", "alice-pw")
        extra = Raw(server.imap_port)
        try:
            extra.line()
            reply = extra.cmd(b"X", b"LOGIN alice alice-pw")
        finally:
            extra.close()
        assert reply.startswith(b"X NO"), reply
    finally:
        for client in live:
            client.close()
