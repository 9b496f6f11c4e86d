"""The POP3 Protocol on an in-memory transport: framing, pipelining, STLS, timeouts, streaming.

The store and auth are real; the transport is Twisted's StringTransport and
time is a task.Clock, so these run without sockets and without waiting.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport

from mailsuite.protocols.pop3.server import Pop3Factory, Pop3Protocol, ServerConfig
from mailsuite.protocols.pop3.session import SessionConfig
from tests.protocols.pop3.conftest import run_blocking

MSG = b"Subject: hi\n\n.dot\nbody\n"


class TlsRecordingTransport(StringTransport):
    """StringTransport that records startTLS instead of doing a handshake."""

    tls_started_with: Any = None

    def startTLS(self, options: Any) -> None:
        self.tls_started_with = options


def connect(
    pop3env, timeout_s: float = 600.0, tls: bool = True, transport_cls: type | None = None
) -> tuple[Pop3Protocol, Any]:
    config = ServerConfig(
        auth=pop3env.auth,
        run_blocking=run_blocking,
        session=SessionConfig(),
        tls_options=object() if tls else None,
        timeout_s=timeout_s,
    )
    protocol = Pop3Factory(config).buildProtocol(None)
    protocol.callLater = pop3env.clock.callLater  # type: ignore[method-assign]
    transport = (transport_cls or TlsRecordingTransport)(
        hostAddress=IPv4Address("TCP", "127.0.0.1", 110),
        peerAddress=IPv4Address("TCP", "127.0.0.1", 40000),
    )
    protocol.makeConnection(transport)
    return protocol, transport


def take(pop3env, transport: StringTransport) -> bytes:
    for _ in range(20):
        pop3env.clock.advance(0.5)  # let auth failure delays pass
    out = transport.value()
    transport.clear()
    return out


def test_greeting_on_connect(pop3env) -> None:
    """The server greets with +OK as soon as the client connects."""
    _, transport = connect(pop3env)
    assert transport.value().startswith(b"+OK ")


def test_pipelined_lines_in_one_packet_and_split_lines(pop3env) -> None:
    """Commands pipelined in one packet or split over packets are all answered in order."""
    pop3env.deliver(MSG)
    protocol, transport = connect(pop3env)
    take(pop3env, transport)
    protocol.dataReceived(b"USER alice\r\nPASS alice-pw\r\nST")
    protocol.dataReceived(b"AT\r\nRETR 1\r\nQUIT\r\n")
    lines = take(pop3env, transport).split(b"\r\n")
    assert lines[0].startswith(b"+OK") and lines[1] == b"+OK Logged in."
    assert lines[2].startswith(b"+OK 1 ")
    assert lines[3].startswith(b"+OK ") and lines[4:7] == [b"Subject: hi", b"", b"..dot"]
    assert lines[-2] == b"+OK Logging out."
    assert transport.disconnecting


def test_stls_drops_pipelined_commands(pop3env) -> None:
    """STLS starts TLS and throws away whatever the client sent after it in plaintext."""
    protocol, transport = connect(pop3env)
    take(pop3env, transport)
    protocol.dataReceived(b"STLS\r\nUSER alice\r\nPASS alice-pw\r\n")
    assert take(pop3env, transport) == b"+OK Begin TLS negotiation now.\r\n"
    assert transport.tls_started_with is not None
    protocol.dataReceived(b"STAT\r\n")
    assert take(pop3env, transport).startswith(b"-ERR STAT is not valid in the AUTHORIZATION")


def test_no_stls_without_tls_context(pop3env) -> None:
    """Without a TLS context STLS is neither offered nor accepted."""
    protocol, transport = connect(pop3env, tls=False)
    take(pop3env, transport)
    protocol.dataReceived(b"CAPA\r\nSTLS\r\n")
    out = take(pop3env, transport)
    assert b"\r\nSTLS\r\n" not in out and out.endswith(b"-ERR TLS is not available.\r\n")


def test_idle_timeout(pop3env) -> None:
    """An idle client is told -ERR and disconnected after the timeout; its DELE is not applied."""
    pop3env.deliver(MSG)
    protocol, transport = connect(pop3env, timeout_s=60)
    protocol.dataReceived(b"USER alice\r\nPASS alice-pw\r\nDELE 1\r\n")
    take(pop3env, transport)
    pop3env.clock.advance(61)
    assert transport.value() == b"-ERR Disconnected for inactivity.\r\n"
    assert transport.disconnecting
    protocol.connectionLost(None)
    take(pop3env, transport)
    assert len(pop3env.store().open_mailbox("INBOX").snapshot().messages) == 1


def test_overlong_line_and_bad_commands_close(pop3env) -> None:
    """A line over the hard limit gets -ERR; ten bad commands close the connection."""
    protocol, transport = connect(pop3env)
    take(pop3env, transport)
    protocol.dataReceived(b"A" * 70000 + b"\r\n")
    assert take(pop3env, transport).startswith(b"-ERR Line too long")
    protocol.dataReceived(b"BAD\r\n" * 20)
    out = take(pop3env, transport)
    assert out.count(b"-ERR") == 9 and b"closing connection" in out
    assert transport.disconnecting


def test_large_retr_streams_through_producer(pop3env) -> None:
    """A RETR larger than one chunk is streamed in pieces and arrives complete."""
    body = b"".join(b"line %06d\n" % i for i in range(30000))
    pop3env.deliver(b"Subject: big\n\n" + body)
    protocol, transport = connect(pop3env)
    protocol.dataReceived(b"USER alice\r\nPASS alice-pw\r\nRETR 1\r\n")
    out = take(pop3env, transport)
    assert transport.producer is None  # unregistered once done
    assert out.endswith(b"line 029999\r\n.\r\n")
    size = len(b"Subject: big\n\n" + body) + body.count(b"\n") + 2
    assert b"+OK %d octets\r\n" % size in out


def test_connection_lost_releases_the_maildrop(pop3env) -> None:
    """A lost connection releases the POP3 lock, so the next login succeeds."""
    protocol, transport = connect(pop3env)
    protocol.dataReceived(b"USER alice\r\nPASS alice-pw\r\n")
    take(pop3env, transport)
    protocol.connectionLost(None)
    pop3env.login()


class FullBufferTransport(TlsRecordingTransport):
    """Pauses its producer once more than ``limit`` bytes are unread, like a full socket."""

    limit = 100_000

    def write(self, data: bytes) -> None:
        super().write(data)
        if self.producer is not None and len(self.value()) > self.limit:
            self.producer.pauseProducing()


def test_streaming_waits_for_a_slow_reader(pop3env) -> None:
    """RETR stops reading the file while the client does not read, and goes on when it does."""
    body = b"".join(b"line %06d\n" % i for i in range(60000))
    pop3env.deliver(b"Subject: big\n\n" + body)
    protocol, transport = connect(pop3env, transport_cls=FullBufferTransport)
    protocol.dataReceived(b"USER alice\r\nPASS alice-pw\r\nRETR 1\r\n")
    first = take(pop3env, transport)
    assert transport.producer is not None, "the stream should be paused, not finished"
    assert len(first) < 300_000
    received = first
    while transport.producer is not None:
        transport.producer.resumeProducing()
        received += take(pop3env, transport)
    assert received.endswith(b"line 059999\r\n.\r\n")


def test_timeout_of_a_stalled_reader_aborts_without_status_line(pop3env) -> None:
    """A client that stops reading mid-RETR is aborted at the timeout, no -ERR inside the body."""
    body = b"".join(b"line %06d\n" % i for i in range(60000))
    pop3env.deliver(b"Subject: big\n\n" + body)
    protocol, transport = connect(pop3env, timeout_s=60, transport_cls=FullBufferTransport)
    protocol.dataReceived(b"USER alice\r\nPASS alice-pw\r\nRETR 1\r\n")
    take(pop3env, transport)
    pop3env.clock.advance(61)
    assert transport.disconnected
    assert b"-ERR" not in transport.value()


def test_long_pipeline_pauses_reading_and_resumes(pop3env) -> None:
    """A burst of hundreds of pipelined commands is answered in full and reading resumes."""
    protocol, transport = connect(pop3env)
    protocol.dataReceived(b"USER alice\r\nPASS alice-pw\r\n")
    take(pop3env, transport)
    calls: list[str] = []
    transport.pauseProducing = lambda: calls.append("pause")  # type: ignore[method-assign]
    transport.resumeProducing = lambda: calls.append("resume")  # type: ignore[method-assign]
    protocol.dataReceived(b"NOOP\r\n" * 300)
    out = take(pop3env, transport)
    assert out.count(b"+OK\r\n") == 300
    assert calls == ["pause", "resume"]
