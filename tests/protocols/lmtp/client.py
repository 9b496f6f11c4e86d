"""A minimal raw LMTP client for tests that need exact control of the bytes.

smtplib.LMTP reads only one reply after DATA, so tests that check the reply
of every recipient (RFC 2033 4.2) read the rest with :meth:`RawLmtp.reply`.
"""

from __future__ import annotations

import socket

__all__ = ["RawLmtp"]


class RawLmtp:
    """A blocking LMTP connection over TCP or a Unix socket."""

    def __init__(self, port: int | None = None, unix_path: str | None = None) -> None:
        if unix_path is not None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(unix_path)
        else:
            self.sock = socket.create_connection(("127.0.0.1", port or 0))
        self.sock.settimeout(120)
        self.file = self.sock.makefile("rb")
        self.greeting = self.reply()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def reply(self) -> tuple[int, str]:
        """Read one (possibly multi-line) reply: (code, text of the last line)."""
        lines = []
        while True:
            line = self.file.readline()
            if not line:
                raise ConnectionError("connection closed")
            lines.append(line.decode("utf-8", "replace").rstrip("\r\n"))
            if len(line) < 4 or line[3:4] != b"-":
                break
        last = lines[-1]
        return int(last[:3]), "\n".join(x[4:] for x in lines)

    def cmd(self, line: str) -> tuple[int, str]:
        self.send(line.encode() + b"\r\n")
        return self.reply()

    def codes(self, n: int) -> list[str]:
        """Read ``n`` replies, each as "code enhanced"."""
        out = []
        for _ in range(n):
            code, text = self.reply()
            first = text.split(" ", 1)[0]
            out.append(f"{code} {first}" if first[:1].isdigit() and "." in first else str(code))
        return out

    def close(self) -> None:
        try:
            self.file.close()
            self.sock.close()
        except OSError:
            pass

    def __enter__(self) -> RawLmtp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
