"""The IMAP Twisted protocol: bytes in, session responses out.

This is the only IMAP module that touches a transport. It frames the input
(:class:`~mailsuite.protocols.imap.wire.Framer`), answers synchronizing
literals with "+" when their turn comes, runs pipelined commands strictly in
order, starts TLS for STARTTLS (dropping anything pipelined before the
handshake, RFC 3501 6.2.1 and CVE-2011-0411), limits literals and commands
before login, times idle clients out (RFC 3501 5.4: at least 30 minutes
after login) and streams large FETCH bodies with backpressure from a push
producer, so neither a big message nor a slow reader fills our memory.
Large APPEND literals go to a spool file as they arrive (``spool.py``); every
spool is closed once its command ran, or when it never will (a refused or
dropped command, STARTTLS, COMPRESS, a lost connection).
"""

from __future__ import annotations

import dataclasses
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from twisted.internet import interfaces
from twisted.internet.defer import Deferred
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import Logger
from twisted.protocols.policies import TimeoutMixin
from twisted.python.failure import Failure
from zope.interface import implementer

from mailsuite import limits
from mailsuite.auth.interfaces import AuthService, AuthSuccess, LoginContext
from mailsuite.util.ids import session_id
from mailsuite.util.net import is_loopback

from .compress_transport import start_compression
from .session import INTERNAL_ERROR, BodySource, ImapSession, Outcome, SessionConfig
from .spool import AppendSpool
from .wire import responses as r
from .wire.framer import (
    PREAUTH_MAX_LITERAL_BYTES,
    CommandBytes,
    Event,
    Framer,
    InputOverflow,
    LineTooLong,
    LiteralTooLarge,
    NeedLiteral,
    close_event,
)
from .wire.responses import BYE, NO, Code

__all__ = ["ImapFactory", "ImapProtocol", "ServerConfig"]

MAX_QUEUED_EVENTS: Final = 100  # pipelined commands queued before reading pauses
# Octets of spooled APPEND literals waiting in the queue before reading pauses, as a
# multiple of the literal limit: pipelined big APPENDs fill the disk no faster than
# the store takes them.
MAX_QUEUED_SPOOL_LITERALS: Final = 2
_TAG: Final = re.compile(rb"[^\x00-\x20\x7f-\xff(){%*\"\\+]{1,64}")
# Peer address -> loopback or not: ipaddress parsing per connection is measurable at
# hundreds of logins a second, and the answer for an address never changes.
_LOOPBACK: dict[str, bool] = {}
_LOOPBACK_MAX_ENTRIES: Final = 4096


def _is_loopback(host: str) -> bool:
    known = _LOOPBACK.get(host)
    if known is None:
        if len(_LOOPBACK) >= _LOOPBACK_MAX_ENTRIES:
            _LOOPBACK.clear()
        known = _LOOPBACK[host] = is_loopback(host)
    return known


@dataclass(frozen=True)
class ServerConfig:
    """Everything an IMAP connection needs, shared by all connections of a listener."""

    auth: AuthService
    run_blocking: Callable[..., Deferred[Any]]
    changes: Any = None  # the ChangeHub, for IDLE
    tls_options: Any = None  # CertificateOptions for STARTTLS; None: not offered
    implicit_tls: bool = False  # the listener is IMAPS (RFC 8314)
    idle_timeout_s: float = limits.IMAP_IDLE_TIMEOUT_S
    preauth_timeout_s: float = limits.IMAP_PREAUTH_TIMEOUT_S
    max_line_bytes: int = limits.IMAP_MAX_LINE_BYTES
    max_literal_bytes: int = limits.IMAP_MAX_LITERAL_BYTES
    hostname: str = "localhost"
    #: Where APPEND literals over its threshold go; None: every literal stays in memory.
    append_spool: AppendSpool | None = None


@implementer(interfaces.IPushProducer)
class _WriteGate:
    """Registered for the connection's life: tells writers when the client is not keeping up."""

    def __init__(self) -> None:
        self.paused = False
        self.stopped = False
        self._waiting: list[Deferred[None]] = []

    def pauseProducing(self) -> None:
        self.paused = True

    def resumeProducing(self) -> None:
        self.paused = False
        self._wake()

    def stopProducing(self) -> None:
        self.stopped = True
        self._wake()

    def _wake(self) -> None:
        waiting, self._waiting = self._waiting, []
        for d in waiting:
            d.callback(None)

    def wait(self) -> Deferred[None]:
        d: Deferred[None] = Deferred()
        self._waiting.append(d)
        return d


class _Output:
    """The session's :class:`~.session.Output` on this connection."""

    def __init__(self, protocol: ImapProtocol) -> None:
        self._p = protocol

    def write(self, data: bytes) -> None:
        self._p.write(data)

    async def drain(self) -> None:
        gate = self._p.gate
        while gate.paused and not gate.stopped and not self._p.lost:
            await gate.wait()

    async def stream(self, source: BodySource) -> None:
        p = self._p
        chunks = source.chunks()
        try:
            while not p.lost:
                chunk = await p.config.run_blocking(next, chunks, None)
                if chunk is None:
                    return
                p.write(chunk)
                p.resetTimeout()  # a slow reader is not an idle one
                await self.drain()
        finally:
            chunks.close()


class ImapProtocol(Protocol, TimeoutMixin):
    """One IMAP connection."""

    log = Logger()

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.session: ImapSession | None = None
        self.gate = _WriteGate()
        self.lost = False
        self.bytes_in = 0
        self.bytes_out = 0
        self._framer = self._new_framer()
        self._queue: deque[Event] = deque()
        self._queued_spool_bytes = 0  # octets of spooled literals in _queue
        self._busy = False
        self._closing = False
        self._authed = False
        self._reading_paused = False

    def _new_framer(self) -> Framer:
        spool = self.config.append_spool
        framer = Framer(
            max_line_bytes=self.config.max_line_bytes,
            max_literal_bytes=self.config.max_literal_bytes,
            spool=spool.open if spool is not None else None,
        )
        if spool is not None:
            framer.spool_min_bytes = spool.memory_bytes
        if not self._authed_safe():
            # Before login only LOGIN/AUTHENTICATE take literals, and small ones.
            framer.max_literal_bytes = min(PREAUTH_MAX_LITERAL_BYTES, self.config.max_literal_bytes)
        return framer

    def _authed_safe(self) -> bool:
        return bool(getattr(self, "_authed", False))

    # -- connection events ----------------------------------------------------

    def connectionMade(self) -> None:
        transport: Any = self.transport
        peer = transport.getPeer()
        host = transport.getHost()
        remote_ip = getattr(peer, "host", "")
        tls = self.config.implicit_tls
        context = LoginContext(
            service="imap",
            remote_ip=remote_ip,
            local_ip=getattr(host, "host", ""),
            # As Dovecot does, loopback counts as secured: nothing there can be sniffed.
            secured=tls or _is_loopback(remote_ip),
            session_id=session_id(),
        )
        session_config = SessionConfig(
            tls_available=not tls and self.config.tls_options is not None,
            tls_active=tls,
            hostname=self.config.hostname,
            append_limit_bytes=self.config.max_literal_bytes,
            compress_available=True,
        )
        self.session = ImapSession(
            self.config.auth,
            context,
            self.config.run_blocking,
            _Output(self),
            session_config,
            self.config.changes,
        )
        self.session.traffic = self._traffic
        transport.registerProducer(self.gate, True)
        set_no_delay = getattr(transport, "setTcpNoDelay", None)
        if set_no_delay is not None:
            try:
                # Responses are complete when written; Nagle would only meet delayed ACKs.
                set_no_delay(True)
            except OSError:
                pass
        self.setTimeout(self.config.preauth_timeout_s)
        self.log.debug(
            "imap<{sid}>: connect from {ip}{tls}",
            sid=context.session_id,
            ip=remote_ip,
            tls=" (TLS)" if tls else "",
        )
        self.write(self.session.greeting())

    def adopt(
        self,
        transport: Any,
        context: LoginContext,
        result: AuthSuccess,
        tag: bytes,
        *,
        tls_active: bool,
        pending: bytes = b"",
    ) -> Deferred[None]:
        """Serve a connection that another protocol (the login front end) logged in.

        Used instead of ``makeConnection``: there is no greeting, since the
        client already had one. The first thing the client gets is the tagged
        answer to its LOGIN/AUTHENTICATE ``tag`` (``OK [CAPABILITY ...]`` with
        this server's capabilities after login, RFC 3501 7.1; NO if the store
        cannot be opened), then the answers to ``pending`` (what it pipelined
        after the login, exactly as sent) and to everything it sends later,
        exactly as on a direct connection (IDLE, COMPRESS, timeouts, logs
        under the front end's session ID). The caller keeps passing the
        transport's events to :meth:`dataReceived` and :meth:`connectionLost`.

        Args:
            transport: the client's transport (TLS already in place when
                ``tls_active``); no producer may be registered on it.
            context: the client's address and session ID, as the front end
                saw them (``service`` becomes ``"imap"``).
            result: the front end's successful login; this session calls its
                ``logout`` when it ends.
            tag: the tag of the client's login command.
            tls_active: the connection is already TLS (IMAPS or STARTTLS).
            pending: client bytes after the login command.

        Returns:
            Fires once the login is answered (for tests; errors are handled).
        """
        self.connected = 1
        self.transport = transport
        session_config = SessionConfig(
            tls_available=not tls_active and self.config.tls_options is not None,
            tls_active=tls_active,
            hostname=self.config.hostname,
            append_limit_bytes=self.config.max_literal_bytes,
            compress_available=True,
        )
        context = dataclasses.replace(
            context, service="imap", secured=context.secured or tls_active
        )
        self.session = ImapSession(
            self.config.auth,
            context,
            self.config.run_blocking,
            _Output(self),
            session_config,
            self.config.changes,
        )
        self.session.traffic = self._traffic
        transport.registerProducer(self.gate, True)
        self.setTimeout(self.config.preauth_timeout_s)  # until the login is answered
        # The front end checked the credentials: what follows may carry APPEND-sized literals.
        self._framer.max_literal_bytes = self.config.max_literal_bytes
        self._busy = True  # pipelined commands wait for the login's answer
        if pending:
            self.dataReceived(pending)
        d = Deferred.fromCoroutine(self._adopted(result, tag))
        d.addErrback(self._loop_failed)
        return d

    async def _adopted(self, result: AuthSuccess, tag: bytes) -> None:
        assert self.session is not None
        try:
            outcome = await self.session.start_authenticated(result, tag)
            if self.lost:
                return
            if not self.session.authenticated:
                # NO: back to a stranger's limits until a login here succeeds.
                self._framer.max_literal_bytes = min(
                    PREAUTH_MAX_LITERAL_BYTES, self.config.max_literal_bytes
                )
            self._finish(outcome)
        finally:
            self._busy = False
        self._kick()

    def _traffic(self) -> str:
        return f"in={self.bytes_in} out={self.bytes_out}"

    def dataReceived(self, data: bytes) -> None:
        self.bytes_in += len(data)
        if self._closing:
            return
        self.resetTimeout()
        for event in self._framer.feed(data):
            self._queue.append(event)
            if isinstance(event, CommandBytes) and event.spooled:
                self._queued_spool_bytes += _spool_bytes(event)
        if self._too_far_ahead(1) and not self._reading_paused:
            # A client far ahead of us: stop reading until the queue drains.
            self._reading_paused = True
            self._transport().pauseProducing()
        self._kick()

    def _too_far_ahead(self, fraction: float) -> bool:
        """More (times ``fraction``) queued than we let a client get ahead by."""
        spool_limit = MAX_QUEUED_SPOOL_LITERALS * self.config.max_literal_bytes
        return (
            len(self._queue) > MAX_QUEUED_EVENTS * fraction
            or self._queued_spool_bytes > spool_limit * fraction
        )

    def _pop_event(self) -> Event:
        event = self._queue.popleft()
        if isinstance(event, CommandBytes) and event.spooled:
            self._queued_spool_bytes -= _spool_bytes(event)
        return event

    def _drop_queue(self) -> None:
        """Forget the queued commands, releasing their spooled literals."""
        queue, self._queue = self._queue, deque()
        self._queued_spool_bytes = 0
        for event in queue:
            close_event(event)

    def connectionLost(self, reason: Failure | None = None) -> None:
        self.lost = True
        self._closing = True
        self.setTimeout(None)
        self.gate.stopProducing()
        # A literal cut off mid-way and commands that will never run: free their spools.
        self._framer.close()
        self._drop_queue()
        if self.session is not None:
            session = self.session
            d = Deferred.fromCoroutine(session.disconnected())
            d.addErrback(
                lambda f: self.log.failure(
                    "{prefix}: cleanup after disconnect failed", f, prefix=session.log_prefix
                )
            )

    def timeoutConnection(self) -> None:
        prefix = self.session.log_prefix if self.session else "imap"
        self.log.info("{prefix}: Disconnected for inactivity", prefix=prefix)
        if self.gate.paused:
            # A client that stopped reading: a BYE would wait behind a full buffer forever.
            self._closing = True
            self._transport().abortConnection()
            return
        self.write(r.untagged_status(BYE, "Disconnected for inactivity."))
        self._close()

    # -- command loop ---------------------------------------------------------

    def _kick(self) -> None:
        if self._busy or not self._queue or self._closing:
            return
        self._busy = True
        d = Deferred.fromCoroutine(self._drain())
        d.addErrback(self._loop_failed)

    async def _drain(self) -> None:
        try:
            while self._queue and not self._closing:
                event = self._pop_event()
                try:
                    outcome = await self._handle(event)
                except Exception:
                    outcome = self._internal_error(event)
                finally:
                    close_event(event)
                if self.lost:
                    return
                self._finish(outcome)
                if self._reading_paused and not self._too_far_ahead(0.5):
                    self._reading_paused = False
                    self._transport().resumeProducing()
        finally:
            self._busy = False

    async def _handle(self, event: Event) -> Outcome:
        session = self.session
        assert session is not None
        if isinstance(event, CommandBytes):
            return await session.handle(event.data, event.spooled)
        if isinstance(event, NeedLiteral):
            if event.synchronizing:
                # RFC 3501 7.5: the client waits for this before sending the octets.
                self.write(r.continuation("Ready for literal data"))
            return Outcome()
        fatal = isinstance(event, InputOverflow) or (
            isinstance(event, LiteralTooLarge) and event.fatal
        )
        assert isinstance(event, (LineTooLong, LiteralTooLarge, InputOverflow))
        return session.framing_error(r.framing_error(event), fatal)

    def _finish(self, outcome: Outcome) -> None:
        session = self.session
        assert session is not None
        if outcome.line:
            self.write(outcome.line)
        if session.authenticated and not self._authed:
            self._authed = True
            self._framer.max_literal_bytes = self.config.max_literal_bytes
            self.setTimeout(self.config.idle_timeout_s)
        if outcome.start_tls:
            self._start_tls()
        if outcome.start_compress:
            self._start_compress()
        if outcome.close:
            self._close()

    def _internal_error(self, event: Event) -> Outcome:
        prefix = self.session.log_prefix if self.session else "imap"
        self.log.failure("{prefix}: internal error", prefix=prefix)
        tag = b"*"
        if isinstance(event, CommandBytes):
            m = _TAG.match(event.data)
            if m is not None:
                tag = m.group(0)
        if tag == b"*":
            return Outcome(r.untagged_status(NO, INTERNAL_ERROR, Code.SERVERBUG))
        return Outcome(r.tagged(tag, NO, INTERNAL_ERROR, Code.SERVERBUG))

    def _loop_failed(self, failure: Failure) -> None:
        prefix = self.session.log_prefix if self.session else "imap"
        self.log.failure("{prefix}: command loop failed", failure, prefix=prefix)
        self.write(r.untagged_status(BYE, INTERNAL_ERROR, Code.SERVERBUG))
        self._close()

    def _start_tls(self) -> None:
        assert self.session is not None
        # RFC 3501 6.2.1 / CVE-2011-0411: nothing pipelined in plaintext runs inside TLS.
        self._drop_queue()
        self._framer.close()
        self._framer = self._new_framer()
        self._transport().startTLS(self.config.tls_options)
        self.session.tls_started()

    def _start_compress(self) -> None:
        """RFC 4978 3: both directions are DEFLATE from the byte after the tagged OK."""
        from twisted.internet import reactor

        # A client may not send anything after COMPRESS before our OK; whatever it
        # pipelined anyway was plaintext and cannot be trusted now.
        self._drop_queue()
        self._framer.close()
        self._framer = self._new_framer()
        clock: Any = reactor
        start_compression(self, lambda f: clock.callLater(0, f))

    # -- output ---------------------------------------------------------------

    def _transport(self) -> Any:
        return self.transport

    def write(self, data: bytes) -> None:
        transport: Any = self.transport
        if data and not self.lost and transport is not None:
            self.bytes_out += len(data)
            transport.write(data)

    def _close(self) -> None:
        self._closing = True
        self._drop_queue()
        self.setTimeout(None)
        transport: Any = self.transport
        if transport is not None and not self.lost:
            # A registered producer can keep a closing transport waiting on it.
            try:
                transport.unregisterProducer()
            except Exception:  # noqa: BLE001 - not registered (or already gone)
                pass
            transport.loseConnection()


def _spool_bytes(event: CommandBytes) -> int:
    return sum(sink.size for sink in event.spooled.values()) if event.spooled else 0


class ImapFactory(Factory):
    """Builds an :class:`ImapProtocol` per connection, all sharing one config."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config

    def buildProtocol(self, addr: Any) -> ImapProtocol:
        protocol = ImapProtocol(self.config)
        protocol.factory = self
        return protocol
