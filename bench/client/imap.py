"""A small asyncio IMAP4rev1 client for load generation (RFC 3501).

Many connections share one event loop. The client frames responses exactly
(literals ``{n}`` are read by count, never by line) and hands each untagged
response to the caller whole, so workloads can check what the server said
rather than trust that it said something.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field

__all__ = ["ImapClient", "ImapProtocolError", "Response", "Untagged", "quote"]

_LITERAL = re.compile(rb"\{(\d+)\+?\}\r\n$")
_EXISTS = re.compile(rb"^\* (\d+) EXISTS\b", re.I)
_EXPUNGE = re.compile(rb"^\* (\d+) EXPUNGE\b", re.I)
READ_LIMIT_BYTES = 16 * 1024 * 1024  # longest single line we accept from a server


class ImapProtocolError(Exception):
    """The server broke the protocol, closed the connection, or answered NO/BAD."""


@dataclass
class Untagged:
    """One untagged response: its text with ``{n}`` markers, and its literals in order."""

    line: bytes
    literals: list[bytes] = field(default_factory=list)


@dataclass
class Response:
    """The answer to one command."""

    status: str  # OK, NO or BAD
    text: str
    untagged: list[Untagged]
    seconds: float

    def fetches(self) -> list[Untagged]:
        return [u for u in self.untagged if re.match(rb"^\* \d+ FETCH ", u.line, re.I)]

    def search_hits(self) -> list[int]:
        for u in self.untagged:
            if u.line.upper().startswith(b"* SEARCH"):
                return [int(n) for n in u.line[8:].split()]
        raise ImapProtocolError(f"no untagged SEARCH in the answer to a SEARCH: {self.text}")


def quote(s: str) -> str:
    """An IMAP quoted string (RFC 3501 4.3)."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ImapClient:
    """One IMAP connection.

    Attributes:
        exists: the last EXISTS count the server reported.
        greeting: the server's greeting line.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._r = reader
        self._w = writer
        self._tag = 0
        self.exists = -1
        self.expunged = 0
        self.greeting = b""

    @classmethod
    async def connect(cls, port: int, host: str = "127.0.0.1", timeout_s: float = 30) -> ImapClient:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, limit=READ_LIMIT_BYTES), timeout_s
        )
        client = cls(reader, writer)
        greeting = await asyncio.wait_for(client._read_response(), timeout_s)
        if not greeting.line.startswith(b"* OK"):
            writer.close()
            raise ImapProtocolError(f"unexpected greeting {greeting.line[:100]!r}")
        client.greeting = greeting.line
        return client

    async def _read_response(self) -> Untagged:
        """One response line with any literals it carries."""
        line = await self._r.readuntil(b"\r\n")
        out = Untagged(b"")
        parts = []
        while True:
            m = _LITERAL.search(line)
            if not m:
                parts.append(line[:-2])
                break
            parts.append(line[: m.start()] + b"{%d}" % len(out.literals))
            out.literals.append(await self._r.readexactly(int(m.group(1))))
            line = await self._r.readuntil(b"\r\n")
        out.line = b"".join(parts)
        return out

    def _track(self, u: Untagged) -> None:
        m = _EXISTS.match(u.line)
        if m:
            self.exists = int(m.group(1))
        elif _EXPUNGE.match(u.line):
            self.exists -= 1
            self.expunged += 1

    async def _until_tagged(self, tag: bytes, started: float) -> Response:
        untagged: list[Untagged] = []
        while True:
            u = await self._read_response()
            if u.line.startswith(tag + b" "):
                rest = u.line[len(tag) + 1 :]
                status, _, text = rest.partition(b" ")
                return Response(
                    status.decode("ascii", "replace").upper(),
                    text.decode("utf-8", "replace"),
                    untagged,
                    time.perf_counter() - started,
                )
            if u.line.startswith(b"+"):
                raise ImapProtocolError(f"unexpected continuation {u.line[:100]!r}")
            if u.line.startswith(b"* BYE"):
                untagged.append(u)
                continue
            self._track(u)
            untagged.append(u)

    def _next_tag(self) -> bytes:
        self._tag += 1
        return b"b%d" % self._tag

    async def command(self, line: str | bytes, *, check: bool = True) -> Response:
        """Send one command line and return the server's complete answer.

        Raises:
            ImapProtocolError: with ``check``, when the answer is not OK.
        """
        tag = self._next_tag()
        data = line.encode() if isinstance(line, str) else line
        started = time.perf_counter()
        self._w.write(tag + b" " + data + b"\r\n")
        resp = await self._until_tagged(tag, started)
        if check and resp.status != "OK":
            raise ImapProtocolError(f"{data[:60]!r} -> {resp.status} {resp.text[:200]}")
        return resp

    async def append(self, mailbox: str, message: bytes, flags: str = "") -> Response:
        """APPEND with a synchronizing literal (waits for the continuation, RFC 3501 7.5)."""
        tag = self._next_tag()
        started = time.perf_counter()
        flag_part = f" ({flags})" if flags else ""
        self._w.write(tag + f" APPEND {quote(mailbox)}{flag_part} {{{len(message)}}}\r\n".encode())
        while True:
            u = await self._read_response()
            if u.line.startswith(b"+"):
                break
            if u.line.startswith(tag + b" "):
                raise ImapProtocolError(f"APPEND refused before the literal: {u.line[:200]!r}")
            self._track(u)
        self._w.write(message + b"\r\n")
        resp = await self._until_tagged(tag, started)
        if resp.status != "OK":
            raise ImapProtocolError(f"APPEND -> {resp.status} {resp.text[:200]}")
        return resp

    async def login(self, user: str, password: str) -> Response:
        return await self.command(f"LOGIN {quote(user)} {quote(password)}")

    async def select(self, mailbox: str) -> Response:
        self.exists = -1
        resp = await self.command(f"SELECT {quote(mailbox)}")
        if self.exists < 0:
            raise ImapProtocolError(f"SELECT {mailbox}: no EXISTS in the answer")
        return resp

    async def idle_start(self) -> bytes:
        """Send IDLE and wait for the continuation (RFC 2177); returns the tag."""
        tag = self._next_tag()
        self._w.write(tag + b" IDLE\r\n")
        while True:
            u = await self._read_response()
            if u.line.startswith(b"+"):
                return tag
            if u.line.startswith(tag + b" "):
                raise ImapProtocolError(f"IDLE refused: {u.line[:200]!r}")
            self._track(u)

    async def idle_wait_exists(self, more_than: int) -> int:
        """While idling, wait for an EXISTS above ``more_than``; returns it."""
        while self.exists <= more_than:
            u = await self._read_response()
            if u.line.startswith(b"* BYE"):
                raise ImapProtocolError(f"BYE while idling: {u.line[:200]!r}")
            self._track(u)
        return self.exists

    async def idle_done(self, tag: bytes) -> Response:
        self._w.write(b"DONE\r\n")
        resp = await self._until_tagged(tag, time.perf_counter())
        if resp.status != "OK":
            raise ImapProtocolError(f"IDLE DONE -> {resp.status} {resp.text[:200]}")
        return resp

    async def logout(self) -> None:
        """LOGOUT, expecting BYE then OK (RFC 3501 6.1.3), and close."""
        try:
            resp = await self.command("LOGOUT")
            if not any(u.line.startswith(b"* BYE") for u in resp.untagged):
                raise ImapProtocolError("LOGOUT answered without an untagged BYE")
        finally:
            await self.close()

    async def close(self) -> None:
        self._w.close()
        try:
            await asyncio.wait_for(self._w.wait_closed(), 5)
        except (ConnectionError, OSError, TimeoutError):
            pass
