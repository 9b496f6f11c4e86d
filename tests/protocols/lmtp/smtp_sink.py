"""A tiny real SMTP server on loopback that records what it receives (the relay in tests)."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field

__all__ = ["SmtpSink", "Received"]


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes


@dataclass
class SmtpSink:
    """Accepts every message; ``messages`` fills as they arrive."""

    messages: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(8)
        self.port = self._sock.getsockname()[1]
        self.arrived = threading.Condition()
        threading.Thread(target=self._serve, daemon=True).start()

    def wait(self, count: int, timeout: float = 30.0) -> list[Received]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.messages) >= count, timeout)
        return list(self.messages)

    def close(self) -> None:
        self._sock.close()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn: socket.socket) -> None:
        f = conn.makefile("rb")
        conn.sendall(b"220 sink ESMTP\r\n")
        sender, rcpts = "", []
        while line := f.readline():
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                conn.sendall(b"250-sink\r\n250 8BITMIME\r\n")
            elif verb == b"MAIL":
                sender, rcpts = line[10:].strip().decode().strip("<>").split(">")[0], []
                conn.sendall(b"250 ok\r\n")
            elif verb == b"RCPT":
                rcpts.append(line[8:].strip().decode().strip("<>"))
                conn.sendall(b"250 ok\r\n")
            elif verb == b"DATA":
                conn.sendall(b"354 go\r\n")
                data = b""
                while (chunk := f.readline()) not in (b".\r\n", b""):
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                with self.arrived:
                    self.messages.append(Received(sender, rcpts, data))
                    self.arrived.notify_all()
                conn.sendall(b"250 queued\r\n")
            elif verb == b"QUIT":
                conn.sendall(b"221 bye\r\n")
                break
            else:
                conn.sendall(b"250 ok\r\n")
        conn.close()
