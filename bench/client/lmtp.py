"""A small asyncio LMTP client for load generation (RFC 2033).

After DATA an LMTP server answers once per accepted recipient (RFC 2033 4.2);
``deliver`` reads exactly that many replies and returns them, so a workload
counts a delivery only when its own recipient got a 2xx.
"""

from __future__ import annotations

import asyncio

__all__ = ["LmtpClient", "LmtpProtocolError", "dot_stuff"]


class LmtpProtocolError(Exception):
    """The server refused a command, broke framing, or closed the connection."""


def dot_stuff(message: bytes) -> bytes:
    """CRLF line ends, leading dots doubled, and the final ``.`` line (RFC 5321 4.5.2)."""
    data = message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    if data.startswith(b"."):
        data = b"." + data
    return data.replace(b"\r\n.", b"\r\n..") + b".\r\n"


class LmtpClient:
    """One LMTP connection, after LHLO."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._r = reader
        self._w = writer
        self.extensions: set[str] = set()

    @classmethod
    async def connect(cls, port: int, host: str = "127.0.0.1", timeout_s: float = 30) -> LmtpClient:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout_s)
        client = cls(reader, writer)
        code, _ = await asyncio.wait_for(client._reply(), timeout_s)
        if code != 220:
            raise LmtpProtocolError(f"greeting {code}")
        writer.write(b"LHLO bench.test\r\n")
        code, lines = await client._reply()
        if code != 250:
            raise LmtpProtocolError(f"LHLO -> {code} {lines}")
        client.extensions = {ln.split(" ")[0].upper() for ln in lines[1:]}
        return client

    async def _reply(self) -> tuple[int, list[str]]:
        """One (possibly multi-line) reply: its code and its text lines."""
        lines = []
        while True:
            raw = await self._r.readuntil(b"\r\n")
            if len(raw) < 5 or not raw[:3].isdigit():
                raise LmtpProtocolError(f"malformed reply line {raw[:100]!r}")
            lines.append(raw[4:-2].decode("utf-8", "replace"))
            if raw[3:4] != b"-":
                return int(raw[:3]), lines

    async def deliver(self, sender: str, recipients: list[str], message: bytes) -> list[int]:
        """One transaction; returns the per-recipient reply codes after the data.

        Raises:
            LmtpProtocolError: MAIL, a RCPT or DATA was refused.
        """
        # MAIL, RCPTs and DATA are sent together when PIPELINING is offered (RFC 2920).
        cmds = [f"MAIL FROM:<{sender}>"] + [f"RCPT TO:<{r}>" for r in recipients] + ["DATA"]
        if "PIPELINING" in self.extensions:
            self._w.write("".join(c + "\r\n" for c in cmds).encode())
            replies = [await self._reply() for _ in cmds]
        else:
            replies = []
            for c in cmds:
                self._w.write(c.encode() + b"\r\n")
                replies.append(await self._reply())
        for cmd, (code, text) in zip(cmds, replies, strict=True):
            expected = 354 if cmd == "DATA" else 250
            if code != expected:
                raise LmtpProtocolError(f"{cmd} -> {code} {' '.join(text)}")
        self._w.write(dot_stuff(message))
        return [(await self._reply())[0] for _ in recipients]

    async def quit(self) -> None:
        try:
            self._w.write(b"QUIT\r\n")
            await self._reply()
        finally:
            self._w.close()
            try:
                await self._w.wait_closed()
            except (ConnectionError, OSError):
                pass
