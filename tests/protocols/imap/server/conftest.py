"""IMAP over real sockets: one real twistd server per module, a user per test, a raw client."""

from __future__ import annotations

import itertools
import os
import re
import socket
import ssl
import time
from collections.abc import Iterator

import pytest

from tests.support.server import RunningServer, start_server

USER_COUNT = 60
_LITERAL_AT_END = re.compile(rb"\{(\d+)\}\r\n\Z")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One real server for the module's tests (each test uses a user of its own)."""
    users = {f"u{i}": f"pw{i}" for i in range(USER_COUNT)} | {"alice": "alice-pw", "bob": "bob-pw"}
    with start_server(tmp_path_factory.mktemp("imapsrv"), users=users) as running:
        yield running


_next_user = itertools.count()


@pytest.fixture
def user(server: RunningServer) -> tuple[str, str]:
    """A user of its own for one test, so tests do not see each other's mail."""
    i = next(_next_user)
    assert i < USER_COUNT, "raise USER_COUNT"
    return f"u{i}", f"pw{i}"


def client_tls(server: RunningServer) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=os.path.join(server.base_dir, "var/tls/cert.pem"))
    context.check_hostname = False  # the certificate names "localhost"; we dial 127.0.0.1
    return context


def deliver(server: RunningServer, data: bytes, user: str, mailbox: str = "INBOX") -> int:
    """Write into the store directly, as another process (Dovecot's LDA, mutt) would."""
    from mailsuite.store.maildir import open_user_store

    box = open_user_store(server.mail_root(user), user=user).open_mailbox(mailbox)
    try:
        return int(box.append(data))
    finally:
        box.close()


class Raw:
    """A byte-exact IMAP client: send what the test says, read whole responses back."""

    def __init__(self, port: int, tls: ssl.SSLContext | None = None) -> None:
        sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.sock: socket.socket = tls.wrap_socket(sock) if tls is not None else sock
        self.buf = b""

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        self.buf += chunk
        return bool(chunk)

    def line(self) -> bytes:
        """One response line with its CRLF, literals included (their octets and the rest)."""
        out = b""
        while True:
            while b"\r\n" not in self.buf:
                if not self._fill():
                    rest, self.buf = self.buf, b""
                    return out + rest
            head, _, self.buf = self.buf.partition(b"\r\n")
            out += head + b"\r\n"
            m = _LITERAL_AT_END.search(out)
            if m is None:
                return out
            size = int(m.group(1))
            while len(self.buf) < size:
                if not self._fill():
                    break
            out += self.buf[:size]
            self.buf = self.buf[size:]

    def until(self, tag: bytes) -> bytes:
        """Every line up to and including the one tagged ``tag``."""
        out = b""
        while True:
            ln = self.line()
            out += ln
            if not ln or ln.startswith(tag + b" "):
                return out

    def cmd(self, tag: bytes, command: bytes) -> bytes:
        self.send(tag + b" " + command + b"\r\n")
        return self.until(tag)

    def login(self, user: str, password: str) -> None:
        self.line()  # greeting
        reply = self.cmd(b"L", b"LOGIN " + user.encode() + b" " + password.encode())
        assert reply.startswith(b"L OK"), reply

    def wait_for(self, needle: bytes, timeout_s: float = 5.0) -> bytes:
        """Read lines until one contains ``needle`` (for pushed IDLE data)."""
        deadline = time.monotonic() + timeout_s
        out = b""
        self.sock.settimeout(timeout_s)
        try:
            while needle not in out and time.monotonic() < deadline:
                out += self.line()
        finally:
            self.sock.settimeout(20)
        return out


@pytest.fixture
def raw(server: RunningServer) -> Iterator[Raw]:
    client = Raw(server.imap_port)
    yield client
    client.close()


def crlf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


__all__ = ["Raw", "client_tls", "crlf", "deliver"]
