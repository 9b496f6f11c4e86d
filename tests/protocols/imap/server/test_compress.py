"""COMPRESS=DEFLATE (RFC 4978) through the real server with a real zlib client over a socket."""

from __future__ import annotations

import zlib

from tests.support.server import RunningServer

from .conftest import Raw, client_tls, deliver

MSG = b"From: a@example.org\r\nSubject: deflate\r\n\r\n" + b"compressible line\r\n" * 200


class Deflated:
    """A client speaking raw DEFLATE (RFC 1951) both ways over an already logged-in socket."""

    def __init__(self, raw: Raw) -> None:
        self.raw = raw
        self.out = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.inp = zlib.decompressobj(-15)
        self.buf = raw.buf  # anything read past the OK is already compressed
        raw.buf = b""
        self.text = b""
        self.wire_bytes = 0

    def cmd(self, tag: bytes, command: bytes) -> bytes:
        self.raw.send(
            self.out.compress(tag + b" " + command + b"\r\n") + self.out.flush(zlib.Z_SYNC_FLUSH)
        )
        while not self._done(tag):
            chunk = self.buf or self.raw.sock.recv(65536)
            self.buf = b""
            assert chunk, "connection closed"
            self.wire_bytes += len(chunk)
            self.text += self.inp.decompress(chunk)
        end = self.text.index(b"\r\n", self._tag_at(tag)) + 2
        reply, self.text = self.text[:end], self.text[end:]
        return reply

    def _tag_at(self, tag: bytes) -> int:
        if self.text.startswith(tag + b" "):
            return 0
        i = self.text.find(b"\r\n" + tag + b" ")
        return -1 if i < 0 else i + 2

    def _done(self, tag: bytes) -> bool:
        at = self._tag_at(tag)
        return at >= 0 and b"\r\n" in self.text[at:]


def test_compress_deflate_end_to_end(server: RunningServer, user: tuple[str, str]) -> None:
    """After ``OK DEFLATE active`` (sent plain) both directions are DEFLATE; commands and a large
    FETCH work and the body crosses the wire compressed."""
    deliver(server, MSG, user[0])
    raw = Raw(server.imap_port)
    raw.login(*user)
    assert raw.cmd(b"z1", b"COMPRESS DEFLATE") == b"z1 OK DEFLATE active\r\n"
    z = Deflated(raw)
    assert z.cmd(b"z2", b"NOOP") == b"z2 OK NOOP completed.\r\n"
    caps = z.cmd(b"z3", b"CAPABILITY")
    assert caps.startswith(b"* CAPABILITY IMAP4rev1 ") and b"COMPRESS=DEFLATE" not in caps
    assert z.cmd(b"z4", b"COMPRESS DEFLATE") == (
        b"z4 NO [COMPRESSIONACTIVE] Compression is already active.\r\n"
    )
    assert b"z5 OK [READ-WRITE]" in z.cmd(b"z5", b"SELECT INBOX")
    before = z.wire_bytes
    reply = z.cmd(b"z6", b"FETCH 1 BODY.PEEK[]")
    assert (
        reply == b"* 1 FETCH (BODY[] {%d}\r\n" % len(MSG) + MSG + b")\r\nz6 OK Fetch completed.\r\n"
    )
    assert z.wire_bytes - before < len(MSG) // 4
    assert z.cmd(b"z7", b"LOGOUT").endswith(b"z7 OK Logout completed.\r\n")
    raw.close()


def test_compress_unknown_mechanism_is_bad(server: RunningServer, user: tuple[str, str]) -> None:
    """COMPRESS with a mechanism other than DEFLATE is BAD and the connection stays plain."""
    raw = Raw(server.imap_port)
    raw.login(*user)
    assert raw.cmd(b"z1", b"COMPRESS LZ4") == b"z1 BAD Unknown compression mechanism LZ4.\r\n"
    assert raw.cmd(b"z2", b"NOOP") == b"z2 OK NOOP completed.\r\n"
    raw.close()


def test_status_size_and_appendlimit(server: RunningServer, user: tuple[str, str]) -> None:
    """STATUS SIZE is the sum of RFC822.SIZE (RFC 8438); an APPEND above APPENDLIMIT is TOOBIG."""
    deliver(server, MSG, user[0])
    raw = Raw(server.imap_port)
    raw.login(*user)
    caps = raw.cmd(b"c", b"CAPABILITY")
    limit = int(caps.split(b"APPENDLIMIT=")[1].split()[0])
    assert raw.cmd(b"s1", b"STATUS INBOX (MESSAGES SIZE APPENDLIMIT)") == (
        b"* STATUS INBOX (MESSAGES 1 SIZE %d APPENDLIMIT %d)\r\n" % (len(MSG), limit)
        + b"s1 OK Status completed.\r\n"
    )
    raw.send(b"a1 APPEND INBOX {%d}\r\n" % (limit + 1))
    assert raw.line().startswith(b"a1 NO [TOOBIG] ")
    raw.close()


def test_compress_over_implicit_tls(server: RunningServer, user: tuple[str, str]) -> None:
    """COMPRESS works under TLS too: DEFLATE inside the TLS stream (RFC 4978 5)."""
    raw = Raw(server.imaps_port, client_tls(server))
    raw.login(*user)
    assert raw.cmd(b"z1", b"COMPRESS DEFLATE") == b"z1 OK DEFLATE active\r\n"
    z = Deflated(raw)
    assert z.cmd(b"z2", b"NOOP") == b"z2 OK NOOP completed.\r\n"
    assert z.cmd(b"z3", b"LOGOUT").endswith(b"z3 OK Logout completed.\r\n")
    raw.close()
