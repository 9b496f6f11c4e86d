"""Backend side of the PROXY protocol: listeners that front ends connect to.

A connection must come from ``trusted_networks`` and begin with a PROXY v2
header (:mod:`.proxyproto`); the wrapped IMAP or POP3 protocol then starts as
if the client had connected directly: ``getPeer()`` is the client's address,
so the auth log, penalties and connection limits see the real user's IP.
Anyone else, or a connection without a valid header, is dropped with a log
line. (Dovecot's ``haproxy = yes`` listeners with ``haproxy_trusted_networks``.)
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any, Final

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.logger import Logger
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory
from zope.interface import directlyProvides, providedBy

from .proxyproto import NeedMore, ProxyHeader, ProxyProtocolError, parse_v2

__all__ = ["HEADER_TIMEOUT_S", "ProxyHeaderFactory", "ProxyHeaderProtocol", "ip_in_networks"]

HEADER_TIMEOUT_S: Final = 15.0  # a front end sends the header at once; a stranger gets this long

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def ip_in_networks(ip: str, networks: Sequence[Network]) -> bool:
    """Whether ``ip`` (IPv4-mapped IPv6 counts as IPv4) is inside one of ``networks``."""
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return any(addr.version == net.version and addr in net for net in networks)


class ProxyHeaderProtocol(ProtocolWrapper):
    """Reads the PROXY header, then hands the connection to the wrapped protocol."""

    log = Logger()

    def __init__(self, factory: Any, wrapped: Any) -> None:
        super().__init__(factory, wrapped)
        self._buf = b""
        self._header: ProxyHeader | None = None
        self._peer: Any = None
        self._timer: Any = None

    def makeConnection(self, transport: Any) -> None:  # noqa: N802 - Twisted API
        directlyProvides(self, providedBy(transport))
        self.connected = 1
        self.transport = transport
        self.factory.registerProtocol(self)
        peer = transport.getPeer()
        ip = getattr(peer, "host", "")
        factory: Any = self.factory
        if not ip_in_networks(ip, factory.trusted):
            self.log.warn(
                "proxy-listener: refused connection from {ip}: not in [proxy] trusted_networks",
                ip=ip,
            )
            transport.abortConnection()
            return
        self._timer = factory.reactor.callLater(factory.header_timeout_s, self._timed_out, ip)

    def _timed_out(self, ip: str) -> None:
        self._timer = None
        self.log.warn("proxy-listener: no PROXY header from {ip} in time; closing", ip=ip)
        self._t().abortConnection()

    def _t(self) -> Any:
        # Typed loosely: the zope interfaces do not type-check as classes without mypy-zope.
        return self.transport

    def _inner(self) -> Any:
        return self.wrappedProtocol

    def getPeer(self) -> Any:  # noqa: N802 - Twisted API
        return self._peer if self._peer is not None else self._t().getPeer()

    def dataReceived(self, data: bytes) -> None:  # noqa: N802 - Twisted API
        if self._header is not None:
            self._inner().dataReceived(data)
            return
        self._buf += data
        proxy_ip = getattr(self._t().getPeer(), "host", "")
        try:
            result = parse_v2(self._buf)
        except ProxyProtocolError as e:
            self.log.warn(
                "proxy-listener: bad PROXY header from {ip}: {error}; closing", ip=proxy_ip, error=e
            )
            self._cancel_timer()
            self._t().abortConnection()
            return
        if isinstance(result, NeedMore):
            return
        self._cancel_timer()
        self._header = result
        rest, self._buf = self._buf[result.consumed :], b""
        if result.source is not None:
            ip, port = result.source
            cls = IPv6Address if ":" in ip else IPv4Address
            self._peer = cls("TCP", ip, port)
        self.log.info(
            "proxy-listener: connection from {client} via front end {proxy}"
            " (session {sid}, ttl {ttl})",
            client=f"{result.source[0]}:{result.source[1]}" if result.source else "(local)",
            proxy=proxy_ip,
            sid=result.unique_id or "-",
            ttl=result.ttl if result.ttl is not None else "-",
        )
        self._inner().makeConnection(self)
        if rest and self.wrappedProtocol is not None:
            self._inner().dataReceived(rest)

    def _cancel_timer(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None and timer.active():
            timer.cancel()

    def connectionLost(self, reason: Any = None) -> None:  # noqa: N802 - Twisted API
        self._cancel_timer()
        if self._header is None:
            self.factory.unregisterProtocol(self)
            self.wrappedProtocol = None  # type: ignore[assignment]
            return
        super().connectionLost(reason)


class ProxyHeaderFactory(WrappingFactory):
    """Wraps a listener's factory so each connection starts with a PROXY v2 header.

    Args:
        wrapped: the IMAP/POP3 factory (possibly already TLS-wrapped).
        trusted: networks allowed to connect (the front ends).
        reactor: for the header timeout.
    """

    protocol = ProxyHeaderProtocol
    noisy = False

    def __init__(
        self,
        wrapped: Any,
        trusted: Sequence[Network],
        reactor: Any,
        header_timeout_s: float = HEADER_TIMEOUT_S,
    ) -> None:
        super().__init__(wrapped)
        self.trusted = list(trusted)
        self.reactor = reactor
        self.header_timeout_s = header_timeout_s
