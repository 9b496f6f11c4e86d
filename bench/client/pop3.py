"""A small asyncio POP3 client for load generation (RFC 1939).

Multi-line answers are read up to the lone ``.`` line and un-dot-stuffed
(RFC 1939 3), so a RETR's length can be checked against LIST's size.
"""

from __future__ import annotations

import asyncio

__all__ = ["Pop3Client", "Pop3ProtocolError"]


class Pop3ProtocolError(Exception):
    """The server answered -ERR, broke framing, or closed the connection."""


class Pop3Client:
    """One POP3 connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._r = reader
        self._w = writer
        self.greeting = b""

    @classmethod
    async def connect(cls, port: int, host: str = "127.0.0.1", timeout_s: float = 30) -> Pop3Client:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, limit=1024 * 1024), timeout_s
        )
        client = cls(reader, writer)
        client.greeting = await asyncio.wait_for(client._status(), timeout_s)
        return client

    async def _status(self) -> bytes:
        line = await self._r.readuntil(b"\r\n")
        if not line.startswith(b"+OK"):
            raise Pop3ProtocolError(f"server said {line[:200]!r}")
        return line[:-2]

    async def _multiline(self) -> bytes:
        """The body of a multi-line answer, dot-unstuffed, CRLF line ends kept."""
        chunks: list[bytes] = []
        while True:
            line = await self._r.readuntil(b"\r\n")
            if line == b".\r\n":
                return b"".join(chunks)
            if line.startswith(b"."):
                line = line[1:]  # RFC 1939 3: byte-stuffed termination octet
            chunks.append(line)

    async def simple(self, line: str) -> bytes:
        """A command with a one-line answer; returns the +OK line."""
        self._w.write(line.encode() + b"\r\n")
        return await self._status()

    async def multi(self, line: str) -> tuple[bytes, bytes]:
        """A command with a multi-line answer; returns (+OK line, body)."""
        self._w.write(line.encode() + b"\r\n")
        status = await self._status()
        return status, await self._multiline()

    async def login(self, user: str, password: str) -> None:
        await self.simple(f"USER {user}")
        await self.simple(f"PASS {password}")

    async def stat(self) -> tuple[int, int]:
        parts = (await self.simple("STAT")).split()
        return int(parts[1]), int(parts[2])

    async def listing(self, command: str = "LIST") -> dict[int, bytes]:
        """LIST or UIDL without argument: message number -> size or unique id."""
        _, body = await self.multi(command)
        out = {}
        for line in body.splitlines():
            num, _, value = line.partition(b" ")
            out[int(num)] = value.strip()
        return out

    async def retr(self, num: int) -> bytes:
        return (await self.multi(f"RETR {num}"))[1]

    async def quit(self) -> None:
        try:
            await self.simple("QUIT")
        finally:
            await self.close()

    async def close(self) -> None:
        self._w.close()
        try:
            await self._w.wait_closed()
        except (ConnectionError, OSError):
            pass
