"""Open a connection to a backend and log in there, never waiting forever.

:func:`connect_backend` connects (with a connect timeout), optionally wraps
TLS (implicit, or STARTTLS/STLS when the login machine asks), writes the PROXY
v2 header first when configured, drives a login machine from
:mod:`.backend_login`, and fires with the connected :class:`BackendProtocol`
and the outcome. Every failure (refused, unreachable, timed out, closed,
rejected) arrives as a :class:`~.backend_login.Refused`, never as an errback,
so the front end always has one answer to give the client.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import ssl
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import HostnameEndpoint, wrapClientTLS
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import Logger
from twisted.python.failure import Failure

from .backend_login import LoggedIn, Refused, Send, StartTls
from .relay import Relay
from .routing import Destination

__all__ = ["BackendProtocol", "connect_backend", "client_tls_options"]

Outcome = tuple["BackendProtocol | None", LoggedIn | Refused]


def client_tls_options(dest: Destination) -> Any:
    """TLS options for talking to ``dest``: verified, or any certificate (``any-cert``)."""
    if dest.verify_tls:
        return ssl.optionsForClientTLS(dest.host)
    return ssl.CertificateOptions(verify=False)


class BackendProtocol(Protocol):
    """Our client connection to a backend: login first, then the relay's other half."""

    log = Logger()

    def __init__(self, machine: Any, header: bytes, dest: Destination) -> None:
        self.machine = machine
        self.header = header
        self.dest = dest
        self.done: Deferred[Outcome] = Deferred()
        self.relay: Relay | None = None
        self._lost = False

    def connectionMade(self) -> None:  # noqa: N802 - Twisted API
        transport: Any = self.transport
        if self.header:
            transport.write(self.header)
        self._run(self.machine.start())

    def dataReceived(self, data: bytes) -> None:  # noqa: N802 - Twisted API
        if self.relay is not None:
            self.relay.from_backend(data)
            return
        if self.done.called:
            return
        self._run(self.machine.feed(data))

    def _run(self, actions: list[Any]) -> None:
        transport: Any = self.transport
        for action in actions:
            if self.done.called:
                return
            if isinstance(action, Send):
                transport.write(action.data)
            elif isinstance(action, StartTls):
                transport.startTLS(client_tls_options(self.dest))
                self._run(self.machine.tls_started())
            elif isinstance(action, LoggedIn):
                # Hold the backend's output until the client side is ready to relay.
                transport.pauseProducing()
                self.done.callback((self, action))
            elif isinstance(action, Refused):
                transport.loseConnection()
                self.done.callback((None, action))

    def abort(self) -> None:
        transport: Any = self.transport
        if transport is not None and not self._lost:
            transport.abortConnection()

    def connectionLost(self, reason: Failure | None = None) -> None:  # noqa: N802 - Twisted API
        self._lost = True
        if self.relay is not None:
            self.relay.backend_lost()
        elif not self.done.called:
            why = reason.getErrorMessage() if reason is not None else "closed"
            self.done.callback((None, Refused(True, f"backend closed the connection: {why}")))


class _OneShot(Factory):
    noisy = False

    def __init__(self, proto: BackendProtocol) -> None:
        self.proto = proto

    def buildProtocol(self, addr: Any) -> BackendProtocol:  # noqa: N802 - Twisted API
        return self.proto


def connect_backend(
    reactor: Any,
    dest: Destination,
    machine: Any,
    *,
    header: bytes = b"",
    connect_timeout_s: float = 10.0,
    login_timeout_s: float = 30.0,
) -> Deferred[Outcome]:
    """Connect to ``dest`` and log in with ``machine``; see the module docstring."""
    proto = BackendProtocol(machine, header, dest)
    endpoint: Any = HostnameEndpoint(reactor, dest.host, dest.port, timeout=connect_timeout_s)
    if dest.security == "ssl":
        endpoint = wrapClientTLS(client_tls_options(dest), endpoint)
    result: Deferred[Outcome] = Deferred()

    def finish(outcome: Outcome) -> None:
        if timer.active():
            timer.cancel()
        if not result.called:
            result.callback(outcome)

    def timed_out() -> None:
        if result.called:
            return
        proto.abort()
        connecting.cancel()
        result.callback((None, Refused(True, f"no login answer within {login_timeout_s:g}s")))

    timer = reactor.callLater(login_timeout_s, timed_out)
    connecting = endpoint.connect(_OneShot(proto))

    def connect_failed(failure: Failure) -> None:
        finish((None, Refused(True, f"connect failed: {failure.getErrorMessage()}")))

    connecting.addErrback(connect_failed)
    proto.done.addCallback(finish)
    return result
