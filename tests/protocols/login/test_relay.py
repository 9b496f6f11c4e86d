"""The relay copies bytes both ways, passes backpressure on, and tears down once."""

from __future__ import annotations

import hashlib
import os

from twisted.internet.testing import StringTransport

from mailsuite.protocols.login.relay import Relay


def test_bytes_flow_both_ways_including_pending() -> None:
    """Bytes held from before the relay, and later ones, reach the other side unchanged."""
    client, backend = StringTransport(), StringTransport()
    relay = Relay(client, backend)
    relay.start(from_client=b"a1 NOOP\r\n", from_backend=b"* 1 EXISTS\r\n")
    relay.from_client(b"a2 LOGOUT\r\n")
    relay.from_backend(b"* BYE\r\n")
    assert backend.value() == b"a1 NOOP\r\na2 LOGOUT\r\n"
    assert client.value() == b"* 1 EXISTS\r\n* BYE\r\n"
    assert (relay.bytes_from_client, relay.bytes_from_backend) == (20, 19)


def test_backpressure_is_wired_both_ways() -> None:
    """Each transport is the other's streaming producer: a full side pauses the other's reads."""
    client, backend = StringTransport(), StringTransport()
    Relay(client, backend).start()
    assert backend.producer is client and backend.streaming
    assert client.producer is backend and client.streaming
    backend.producer.pauseProducing()  # the backend's send buffer is full
    assert client.producerState == "paused"
    backend.producer.resumeProducing()
    assert client.producerState == "producing"


def test_backend_close_closes_client_once() -> None:
    """When the backend goes, the client is closed after its output, and on_end runs once."""
    client, backend = StringTransport(), StringTransport()
    ended: list[str] = []
    relay = Relay(client, backend, on_end=ended.append)
    relay.start()
    relay.backend_lost()
    relay.client_lost()
    relay.from_client(b"late")
    assert client.disconnecting and not backend.disconnecting
    assert ended == ["backend"]
    assert backend.value() == b""
    assert client.producer is None and backend.producer is None


def test_client_close_closes_backend() -> None:
    """When the client goes, the backend connection is closed."""
    client, backend = StringTransport(), StringTransport()
    relay = Relay(client, backend)
    relay.start()
    relay.client_lost()
    assert backend.disconnecting and relay.ended_by == "client"


def test_large_stream_arrives_intact() -> None:
    """Several MiB in odd-sized pieces come out byte for byte (checked by digest)."""
    client, backend = StringTransport(), StringTransport()
    relay = Relay(client, backend)
    relay.start()
    payload = os.urandom(3 * 1024 * 1024 + 17)
    for i in range(0, len(payload), 65521):
        relay.from_backend(payload[i : i + 65521])
    assert hashlib.sha256(client.value()).digest() == hashlib.sha256(payload).digest()
