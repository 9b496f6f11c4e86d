"""The POP3 Twisted protocol: bytes in, session replies out.

This is the only POP3 module that touches a transport. It frames lines
(:class:`~mailsuite.protocols.pop3.wire.LineBuffer`), queues pipelined
commands and answers them strictly in order (RFC 2449 section 6.6,
PIPELINING), starts TLS for STLS (dropping anything the client pipelined
before the handshake, RFC 2595 section 4), times idle clients out (RFC 1939
section 3: at least ten minutes), and streams RETR/TOP bodies as a push
producer so a large message never sits in memory.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from twisted.internet import interfaces
from twisted.internet.defer import Deferred
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import Logger
from twisted.protocols.policies import TimeoutMixin
from twisted.python.failure import Failure
from zope.interface import implementer

from mailsuite import limits
from mailsuite.auth.interfaces import AuthService, AuthSuccess, LoginContext
from mailsuite.protocols.pop3.response import Response
from mailsuite.protocols.pop3.session import Pop3Session, SessionConfig
from mailsuite.protocols.pop3.stream import MessageStream
from mailsuite.protocols.pop3.wire import LineBuffer, LineTooLong, Status
from mailsuite.util.ids import session_id
from mailsuite.util.net import is_loopback

__all__ = ["Pop3Factory", "Pop3Protocol", "ServerConfig"]


@dataclass(frozen=True)
class ServerConfig:
    """Everything a POP3 connection needs, shared by all connections of a listener."""

    auth: AuthService
    run_blocking: Callable[..., Deferred[Any]]
    session: SessionConfig
    tls_options: Any = None  # CertificateOptions for STLS; None: STLS not offered
    implicit_tls: bool = False  # the listener is POP3S (RFC 8314)
    timeout_s: float = limits.POP3_TIMEOUT_S


@implementer(interfaces.IPushProducer)
class _WriteGate:
    """Pauses RETR streaming while the transport's buffer is full."""

    def __init__(self) -> None:
        self.paused = False
        self.stopped = False
        self._waiting: Deferred[None] | None = None

    def pauseProducing(self) -> None:
        self.paused = True

    def resumeProducing(self) -> None:
        self.paused = False
        self._wake()

    def stopProducing(self) -> None:
        self.stopped = True
        self._wake()

    def _wake(self) -> None:
        d, self._waiting = self._waiting, None
        if d is not None:
            d.callback(None)

    def wait(self) -> Deferred[None]:
        self._waiting = Deferred()
        return self._waiting


class Pop3Protocol(Protocol, TimeoutMixin):
    """One POP3 connection."""

    log = Logger()

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.session: Pop3Session | None = None
        self._lines = LineBuffer(limits.POP3_MAX_SASL_LINE_BYTES)
        self._queue: deque[bytes | LineTooLong] = deque()
        self._busy = False
        self._closing = False
        self._lost = False
        self._reading_paused = False
        self._gate: _WriteGate | None = None

    # -- connection events ----------------------------------------------------

    def connectionMade(self) -> None:
        transport: Any = self.transport
        peer = transport.getPeer()
        host = transport.getHost()
        remote_ip = getattr(peer, "host", "")
        tls = self.config.implicit_tls
        context = LoginContext(
            service="pop3",
            remote_ip=remote_ip,
            local_ip=getattr(host, "host", ""),
            # Like Dovecot, a loopback connection counts as secured: nothing
            # on the wire can be sniffed there.
            secured=tls or is_loopback(remote_ip),
            session_id=session_id(),
        )
        session_config = dataclasses.replace(
            self.config.session,
            tls_available=not tls and self.config.tls_options is not None,
        )
        self.session = Pop3Session(
            self.config.auth, context, self.config.run_blocking, session_config, tls_active=tls
        )
        self.setTimeout(self.config.timeout_s)
        # Replies are complete when written; waiting for more (Nagle) only
        # meets the client's delayed ACK and stalls every command ~40 ms.
        set_no_delay = getattr(transport, "setTcpNoDelay", None)
        if set_no_delay is not None:
            try:
                set_no_delay(True)
            except OSError:
                pass  # not a TCP socket (a Unix socket in tests): nothing to tune
        self.log.debug(
            "pop3<{sid}>: connect from {ip}{tls}",
            sid=context.session_id,
            ip=remote_ip,
            tls=" (TLS)" if tls else "",
        )
        self._write(self.session.greeting().encode())

    def adopt(
        self,
        transport: Any,
        context: LoginContext,
        result: AuthSuccess,
        *,
        tls_active: bool,
        pending: bytes = b"",
    ) -> Deferred[None]:
        """Serve a connection that another protocol (the login front end) logged in.

        Used instead of ``makeConnection``: there is no greeting, since the
        client already had one. The first thing the client gets is the answer
        to its ``PASS`` or ``AUTH`` (RFC 1939 section 7: ``+OK`` once the
        maildrop is opened, and the TRANSACTION state; ``-ERR`` when it cannot
        be opened, staying in AUTHORIZATION), then the answers to ``pending``
        (the bytes it pipelined after the login, exactly as sent, in order:
        RFC 2449 section 6.6) and to everything it sends later, exactly as on
        a direct connection. The caller keeps passing the transport's events
        to :meth:`dataReceived` and :meth:`connectionLost`.

        Args:
            transport: the client's transport (TLS already in place when
                ``tls_active``).
            context: the client's address and session ID, as the front end
                saw them (``service`` becomes ``"pop3"``).
            result: the front end's successful login; this session calls its
                ``logout`` when it ends.
            tls_active: the connection is already TLS (POP3S or STLS).
            pending: client bytes after the login command.

        Returns:
            Fires once the login is answered (for tests; errors are handled).
        """
        self.connected = 1
        self.transport = transport
        session_config = dataclasses.replace(
            self.config.session,
            tls_available=not tls_active and self.config.tls_options is not None,
        )
        self.session = Pop3Session(
            self.config.auth,
            dataclasses.replace(context, service="pop3", secured=context.secured or tls_active),
            self.config.run_blocking,
            session_config,
            tls_active=tls_active,
        )
        self.setTimeout(self.config.timeout_s)
        # Pipelined commands wait until the login is answered.
        self._busy = True
        if pending:
            self.dataReceived(pending)
        d = Deferred.fromCoroutine(self._adopted(result))
        d.addErrback(self._internal_error)
        return d

    async def _adopted(self, result: AuthSuccess) -> None:
        assert self.session is not None
        try:
            response = await self.session.start_authenticated(result)
            if self._lost:
                return
            await self._send(response)
        finally:
            self._busy = False
        self._kick()

    def dataReceived(self, data: bytes) -> None:
        if self._closing:
            return
        self.resetTimeout()
        self._queue.extend(self._lines.feed(data))
        if len(self._queue) > limits.POP3_MAX_PIPELINED_LINES and not self._reading_paused:
            # A client far ahead of us: stop reading until the queue drains.
            self._reading_paused = True
            self._transport().pauseProducing()
        self._kick()

    def connectionLost(self, reason: Failure | None = None) -> None:
        self._lost = True
        self._closing = True
        self.setTimeout(None)
        if self._gate is not None:
            self._gate.stopProducing()
        if self.session is not None:
            session = self.session
            d = Deferred.fromCoroutine(session.disconnected())
            d.addErrback(
                lambda f: self.log.failure(
                    "{prefix}: cleanup after disconnect failed", f, prefix=session.log_prefix
                )
            )

    def timeoutConnection(self) -> None:
        if self.session is not None:
            self.log.info("{prefix}: Disconnected for inactivity", prefix=self.session.log_prefix)
        if self._gate is not None:
            # A client that stopped reading mid-body: a status line would
            # corrupt the message and a clean close would wait on the full
            # buffer forever, so abort.
            self._closing = True
            self._gate.stopProducing()
            self._transport().abortConnection()
            return
        self._write(Status(False, "Disconnected for inactivity.").encode())
        self._close()

    # -- command loop ---------------------------------------------------------

    def _kick(self) -> None:
        if self._busy or not self._queue or self._closing:
            return
        self._busy = True
        d = Deferred.fromCoroutine(self._drain())
        d.addErrback(self._internal_error)

    async def _drain(self) -> None:
        assert self.session is not None
        try:
            while self._queue and not self._closing:
                line = self._queue.popleft()
                response = await self.session.handle_line(line)
                if self._lost:
                    if response.stream is not None:
                        response.stream.close()
                    return
                await self._send(response)
                if self._reading_paused and len(self._queue) < limits.POP3_MAX_PIPELINED_LINES:
                    self._reading_paused = False
                    self._transport().resumeProducing()
        finally:
            self._busy = False

    async def _send(self, response: Response) -> None:
        head = response.reply.encode()
        if response.stream is not None:
            # One write for the status line and the first chunk: one TLS
            # record and one segment for the common small message.
            head += response.stream.take_prefetched()
        self._write(head)
        if response.stream is not None:
            # Most messages fit in the prefetched chunk: no producer needed then.
            complete = response.stream.done or await self._stream_body(response.stream)
            if complete and response.on_streamed is not None:
                response.on_streamed()
        if response.start_tls:
            self._start_tls()
        if response.close:
            self._close()

    async def _stream_body(self, stream: MessageStream) -> bool:
        """Write a RETR/TOP body chunk by chunk; False if the connection went away."""
        transport: Any = self.transport
        assert transport is not None
        gate = self._gate = _WriteGate()
        transport.registerProducer(gate, True)
        try:
            while not stream.done:
                if gate.stopped or self._lost or self._closing:
                    return False
                if gate.paused:
                    await gate.wait()
                    continue
                chunk = await self.config.run_blocking(stream.next_chunk)
                if self._lost:
                    return False
                self._write(chunk)
                self.resetTimeout()  # a slow reader is not an idle one
            return True
        except OSError as e:
            # The +OK is out: the only honest thing left is to drop the connection.
            prefix = self.session.log_prefix if self.session else "pop3"
            self.log.error("{prefix}: reading a message failed: {e}", prefix=prefix, e=e)
            self._close()
            return False
        finally:
            stream.close()
            self._gate = None
            if not self._lost:
                transport.unregisterProducer()

    def _start_tls(self) -> None:
        assert self.session is not None
        # RFC 2595 section 4 (and CVE-2011-0411): commands pipelined after
        # STLS were sent in plaintext and must not run inside TLS.
        self._queue.clear()
        self._lines.clear()
        self._transport().startTLS(self.config.tls_options)
        self.session.tls_started()

    # -- output ---------------------------------------------------------------

    def _transport(self) -> Any:
        # Typed loosely: the transport is TCP or TLS and provides more than ITransport.
        return self.transport

    def _write(self, data: bytes) -> None:
        transport: Any = self.transport
        if data and not self._lost and transport is not None:
            transport.write(data)

    def _close(self) -> None:
        self._closing = True
        self._queue.clear()
        self.setTimeout(None)
        transport: Any = self.transport
        if transport is not None and not self._lost:
            transport.loseConnection()

    def _internal_error(self, failure: Failure) -> None:
        prefix = self.session.log_prefix if self.session else "pop3"
        self.log.failure("{prefix}: internal error", failure, prefix=prefix)
        self._write(
            Status(False, "Internal error occurred. Refer to server log.", "SYS/TEMP").encode()
        )
        self._close()


class Pop3Factory(Factory):
    """Builds a :class:`Pop3Protocol` per connection, all sharing one config."""

    noisy = False  # the service logs its listeners; "Starting factory" is noise

    def __init__(self, config: ServerConfig) -> None:
        self.config = config

    def buildProtocol(self, addr: Any) -> Pop3Protocol:
        protocol = Pop3Protocol(self.config)
        protocol.factory = self
        return protocol
