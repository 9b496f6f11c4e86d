"""Backend listeners for front ends: PROXY header required, and only from trusted networks."""

from __future__ import annotations

import ipaddress
from typing import Any

from twisted.internet.address import IPv4Address
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from mailsuite.protocols.login.proxy_listener import ProxyHeaderFactory, ip_in_networks
from mailsuite.protocols.login.proxyproto import encode_v2

TRUSTED = [ipaddress.ip_network("10.0.0.0/8")]


class Recorder(Protocol):
    def __init__(self) -> None:
        self.received = b""
        self.peer: Any = None

    def connectionMade(self) -> None:  # noqa: N802
        self.peer = self.transport.getPeer()  # type: ignore[union-attr]

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        self.received += data


def _connect(peer_ip: str) -> tuple[Any, StringTransport, Clock, list[Recorder]]:
    made: list[Recorder] = []

    def build() -> Recorder:
        made.append(Recorder())
        return made[-1]

    clock = Clock()
    factory = ProxyHeaderFactory(Factory.forProtocol(build), TRUSTED, clock)
    proto = factory.buildProtocol(IPv4Address("TCP", peer_ip, 40000))
    transport = StringTransport(peerAddress=IPv4Address("TCP", peer_ip, 40000))
    proto.makeConnection(transport)
    return proto, transport, clock, made


def test_trusted_header_gives_the_client_address_to_the_protocol() -> None:
    """After the header, the wrapped protocol sees the client's address and the payload."""
    proto, transport, _clock, made = _connect("10.1.1.1")
    header = encode_v2(("192.0.2.9", 5555), ("10.0.0.2", 110), unique_id="s")
    proto.dataReceived(header[:10])
    assert made[0].peer is None  # not started before the header is complete
    proto.dataReceived(header[10:] + b"USER alice\r\n")
    assert (made[0].peer.host, made[0].peer.port) == ("192.0.2.9", 5555)
    assert made[0].received == b"USER alice\r\n"
    assert not transport.disconnecting


def test_untrusted_peer_is_dropped_at_once() -> None:
    """A connection from outside trusted_networks never reaches the protocol."""
    _proto, transport, _clock, made = _connect("192.0.2.50")
    assert transport.disconnected or transport.disconnecting
    assert made[0].peer is None


def test_missing_header_is_dropped() -> None:
    """A trusted peer speaking plain POP3 at the PROXY port is disconnected."""
    proto, transport, _clock, made = _connect("10.1.1.1")
    proto.dataReceived(b"USER alice\r\n")
    assert transport.disconnected or transport.disconnecting
    assert made[0].received == b""


def test_silent_peer_times_out() -> None:
    """A trusted peer that sends nothing is cut off after the header timeout."""
    _proto, transport, clock, _made = _connect("10.1.1.1")
    clock.advance(60)
    assert transport.disconnected or transport.disconnecting


def test_ip_in_networks_handles_mapped_and_garbage() -> None:
    """IPv4-mapped IPv6 counts as IPv4; garbage never matches."""
    assert ip_in_networks("::ffff:10.2.3.4", TRUSTED)
    assert not ip_in_networks("not-an-ip", TRUSTED)
    assert not ip_in_networks("2001:db8::1", TRUSTED)
