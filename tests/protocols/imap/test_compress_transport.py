"""COMPRESS=DEFLATE on a live connection: batching, flow control, errors, a real TCP loopback."""

from __future__ import annotations

import zlib
from typing import Any

from twisted.internet import defer, interfaces, protocol
from twisted.internet import reactor as _reactor
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import TestCase

from mailsuite.protocols.imap.compress_transport import CompressedTransport, start_compression
from mailsuite.protocols.imap.wire.compress import INFLATE_PIECE_BYTES, CompressionError

reactor: Any = _reactor


def tr(proto: protocol.Protocol) -> Any:
    """The protocol's transport, untyped (zope interfaces confuse mypy here)."""
    return proto.transport


class Recorder(protocol.Protocol):
    """Records what it receives; pauses reading after ``pause_after`` pieces when set."""

    def __init__(self, pause_after: int | None = None) -> None:
        self.pieces: list[bytes] = []
        self.pause_after = pause_after

    def dataReceived(self, data: bytes) -> None:
        self.pieces.append(data)
        if self.pause_after is not None and len(self.pieces) >= self.pause_after:
            tr(self).pauseProducing()

    @property
    def received(self) -> bytes:
        return b"".join(self.pieces)


def connected(pause_after: int | None = None) -> tuple[Recorder, StringTransport, Clock]:
    proto = Recorder(pause_after)
    transport = StringTransport()
    proto.makeConnection(transport)
    return proto, transport, Clock()


def client_stream(*lines: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return b"".join(c.compress(line) for line in lines) + c.flush(zlib.Z_SYNC_FLUSH)


class StringTransportTests(TestCase):
    def test_ok_stays_plain_and_a_batch_is_one_flush(self) -> None:
        """The OK goes out plain; later writes of one reactor turn share one sync flush."""
        proto, transport, clock = connected()
        tr(proto).write(b"a OK DEFLATE active\r\n")
        start_compression(proto, lambda f: clock.callLater(0, f))
        assert transport.value() == b"a OK DEFLATE active\r\n"
        transport.clear()
        tr(proto).write(b"* 1 EXISTS\r\n")
        tr(proto).writeSequence([b"* 1 RECENT\r\n", b"b OK NOOP done\r\n"])
        client = zlib.decompressobj(-15)
        assert client.decompress(transport.value()) == b""  # still in the compressor
        clock.advance(0)
        wire = transport.value()
        assert wire.count(b"\x00\x00\xff\xff") == 1
        assert client.decompress(wire) == b"* 1 EXISTS\r\n* 1 RECENT\r\nb OK NOOP done\r\n"
        transport.clear()
        clock.advance(0)
        assert transport.value() == b""  # nothing new, nothing sent

    def test_without_a_scheduler_every_write_is_flushed(self) -> None:
        """With no call_soon each write is complete on the wire at once."""
        proto, transport, _clock = connected()
        start_compression(proto)
        tr(proto).write(b"* OK x\r\n")
        assert zlib.decompressobj(-15).decompress(transport.value()) == b"* OK x\r\n"

    def test_input_is_inflated_for_the_protocol(self) -> None:
        """Compressed client bytes, split anywhere, reach the protocol decompressed."""
        proto, _transport, _clock = connected()
        start_compression(proto)
        wire = client_stream(b"b NOOP\r\n", b"c LOGOUT\r\n")
        for i in range(0, len(wire), 3):
            proto.dataReceived(wire[i : i + 3])
        assert proto.received == b"b NOOP\r\nc LOGOUT\r\n"

    def test_leftover_after_the_command_is_inflated(self) -> None:
        """Bytes read together with the COMPRESS line are decompressed on installation."""
        proto, _transport, _clock = connected()
        start_compression(proto, leftover=client_stream(b"b NOOP\r\n"))
        assert proto.received == b"b NOOP\r\n"

    def test_bomb_waits_while_the_protocol_pauses_reading(self) -> None:
        """A deflate bomb expands one bounded piece at a time, none while reading is paused."""
        proto, transport, _clock = connected(pause_after=2)
        wrapper = start_compression(proto)
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        proto.dataReceived(c.compress(b"A" * (20 * 1024 * 1024)) + c.flush(zlib.Z_SYNC_FLUSH))
        assert len(proto.pieces) == 2
        assert all(len(p) <= INFLATE_PIECE_BYTES for p in proto.pieces)
        assert transport.producerState == "paused" and wrapper.inflater.pending
        proto.pause_after = None
        wrapper.resumeProducing()
        assert len(proto.received) == 20 * 1024 * 1024
        assert transport.producerState == "producing"

    def test_corrupt_input_says_bye_and_closes(self) -> None:
        """Invalid compressed input gets a compressed BYE and the connection closes."""
        proto, transport, _clock = connected()
        start_compression(proto)
        proto.dataReceived(b"\xff\xff\xff\xff")
        assert transport.disconnecting
        assert zlib.decompressobj(-15).decompress(transport.value()) == (
            b"* BYE Invalid compressed data.\r\n"
        )
        proto.dataReceived(client_stream(b"b NOOP\r\n"))  # ignored after the failure
        assert proto.received == b""

    def test_custom_error_handler(self) -> None:
        """An on_error callback replaces the default BYE."""
        proto, transport, _clock = connected()
        errors: list[CompressionError] = []
        start_compression(proto, on_error=errors.append)
        proto.dataReceived(b"\xff\xff\xff\xff")
        assert len(errors) == 1 and not transport.disconnecting

    def test_lose_connection_flushes_first(self) -> None:
        """Closing sends whatever was still in the compressor (a BYE must arrive)."""
        proto, transport, clock = connected()
        start_compression(proto, lambda f: clock.callLater(0, f))
        tr(proto).write(b"* BYE Logging out\r\n")
        tr(proto).loseConnection()
        assert zlib.decompressobj(-15).decompress(transport.value()) == b"* BYE Logging out\r\n"
        assert transport.disconnecting
        tr(proto).write(b"late\r\n")
        clock.advance(0)

    def test_wrapper_delegates_and_keeps_interfaces(self) -> None:
        """The wrapper provides the wrapped transport's interfaces and delegates the rest."""
        proto, transport, _clock = connected()
        wrapper = start_compression(proto)
        assert isinstance(proto.transport, CompressedTransport)
        assert interfaces.ITransport.providedBy(wrapper)
        assert wrapper.getPeer() == transport.getPeer()
        assert wrapper.wrapped is transport


class EchoServer(protocol.Protocol):
    """A tiny line server: answers COMPRESS, then echoes each line as a tagged OK."""

    def __init__(self) -> None:
        self.buf = b""

    def dataReceived(self, data: bytes) -> None:
        self.buf += data
        while b"\r\n" in self.buf:
            line, self.buf = self.buf.split(b"\r\n", 1)
            tag, _, rest = line.partition(b" ")
            tr(self).write(tag + b" OK " + rest + b"\r\n")
            if rest == b"COMPRESS DEFLATE":
                leftover, self.buf = self.buf, b""
                start_compression(
                    self,
                    lambda f: reactor.callLater(0, f),
                    leftover=leftover,
                )


class Client(protocol.Protocol):
    def __init__(self, done: defer.Deferred[bytes]) -> None:
        self.done = done
        self.plain = b""
        self.inflate: Any = None
        self.deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.got = b""

    def connectionMade(self) -> None:
        tr(self).write(b"a COMPRESS DEFLATE\r\n")

    def dataReceived(self, data: bytes) -> None:
        if self.inflate is None:
            self.plain += data
            if b"\r\n" in self.plain:
                line, rest = self.plain.split(b"\r\n", 1)
                assert line == b"a OK COMPRESS DEFLATE"
                self.inflate = zlib.decompressobj(-15)
                big = b"c " + b"x" * 200_000
                tr(self).write(
                    self.deflate.compress(b"b NOOP\r\n" + big + b"\r\n")
                    + self.deflate.flush(zlib.Z_SYNC_FLUSH)
                )
                data = rest
            else:
                return
        self.got += self.inflate.decompress(data)
        if self.got.endswith(b"x\r\n"):
            tr(self).loseConnection()
            self.done.callback(self.got)


class LoopbackTests(TestCase):
    async def test_real_tcp_connection(self) -> None:
        """Over real loopback TCP the server switches to DEFLATE after OK in both directions."""
        factory = protocol.Factory.forProtocol(EchoServer)
        port = reactor.listenTCP(0, factory, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        done: defer.Deferred[bytes] = defer.Deferred()
        creator: Any = protocol.ClientCreator(reactor, Client, done)
        await creator.connectTCP("127.0.0.1", port.getHost().port)
        got = await done
        assert got == b"b OK NOOP\r\nc OK " + b"x" * 200_000 + b"\r\n"
