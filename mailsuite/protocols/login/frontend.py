"""What the IMAP and POP3 front ends share: the connection's life after login.

A front-end connection goes through stages: ``prelogin`` (the protocol
subclass parses commands), ``connecting`` (logged in here, logging in at the
backend; the client's further bytes are held), then either ``relay`` (bytes
pass through :class:`~.relay.Relay` unparsed) or ``local`` (a protocol of
this process took the connection over through the handover seam). Failures
at any stage give the client one clear answer and the admin one log line.
"""

from __future__ import annotations

from typing import Any, Final, Generic, TypeVar

from twisted.internet.defer import Deferred
from twisted.internet.protocol import Protocol
from twisted.logger import Logger
from twisted.protocols.policies import TimeoutMixin
from twisted.python.failure import Failure

from mailsuite.auth.interfaces import AuthSuccess, LoginContext
from mailsuite.util.net import is_loopback

from .backend_login import LoggedIn, Refused
from .handoff import (
    FrontendConfig,
    NotProxied,
    Takeover,
    new_session_id,
    plan_proxy,
    start_proxy,
)
from .held import HeldInput
from .proxy_listener import ip_in_networks
from .relay import Relay

__all__ = ["FrontendProtocol", "MAX_HELD_BYTES", "QueuedFrontend"]

E = TypeVar("E")  # one parsed item of pre-login input (an IMAP event, a POP3 line)

# Bytes a client may pipeline while we log in at the backend; then reading pauses.
MAX_HELD_BYTES: Final = 64 * 1024


class FrontendProtocol(Protocol, TimeoutMixin):
    """Base of the IMAP and POP3 front-end protocols; subclasses parse the pre-login dialogue."""

    log = Logger()
    service = "login"

    def __init__(self, config: FrontendConfig) -> None:
        self.config = config
        self.context = LoginContext(service=self.service, remote_ip="")
        self.tls_active = config.implicit_tls
        self.ttl = config.ttl
        self.stage = "prelogin"
        self.username = ""
        self.relay: Relay | None = None
        self.backend: Any = None
        self.local: Any = None
        self._held = bytearray()
        self._reading_paused = False  # by throttle(): too much input waits unanswered
        self._lost = False
        self._logout: Any = None
        self.close_after_reply = False  # LOGOUT/QUIT, too many errors: close once answered

    # -- hooks for subclasses ---------------------------------------------------

    def greeting(self) -> bytes:
        raise NotImplementedError

    def received(self, data: bytes) -> None:
        """Pre-login bytes from the client."""
        raise NotImplementedError

    def reply_proxied(self, logged_in: LoggedIn) -> bytes:
        """The success answer to the login command, once the backend accepted it."""
        raise NotImplementedError

    def reply_failed(self, temporary: bool, text: str) -> bytes:
        """The failure answer to the login command (temporary: server-side trouble)."""
        raise NotImplementedError

    def held_input(self) -> bytes:
        """Client bytes received after the login command (pipelined), exactly as sent."""
        return b""

    def login_tag(self) -> bytes:
        """The tag of the login command being answered (IMAP); empty for POP3."""
        return b""

    # -- connection events ------------------------------------------------------

    @property
    def log_prefix(self) -> str:
        return f"{self.service}-login({self.username})<{self.context.session_id}>"

    def connectionMade(self) -> None:  # noqa: N802 - Twisted API
        transport: Any = self.transport
        peer, host = transport.getPeer(), transport.getHost()
        remote_ip = getattr(peer, "host", "")
        self.context = LoginContext(
            service=self.service,
            remote_ip=remote_ip,
            local_ip=getattr(host, "host", ""),
            secured=self.tls_active or is_loopback(remote_ip),
            session_id=new_session_id(),
        )
        set_no_delay = getattr(transport, "setTcpNoDelay", None)
        if set_no_delay is not None:
            try:
                set_no_delay(True)
            except OSError:
                pass
        self.setTimeout(self.config.preauth_timeout_s)
        self.log.debug(
            "{prefix}: connect from {ip}{tls}",
            prefix=self.log_prefix,
            ip=remote_ip,
            tls=" (TLS)" if self.tls_active else "",
        )
        self.write(self.greeting())

    def dataReceived(self, data: bytes) -> None:  # noqa: N802 - Twisted API
        if self.stage == "relay" and self.relay is not None:
            self.relay.from_client(data)
        elif self.stage == "local" and self.local is not None:
            self.local.dataReceived(data)
        elif self.stage == "connecting":
            self._held += data
            if len(self._held) > MAX_HELD_BYTES:
                self.transport.pauseProducing()  # type: ignore[union-attr]
        elif self.stage == "prelogin":
            self.resetTimeout()
            self.received(data)

    def connectionLost(self, reason: Failure | None = None) -> None:  # noqa: N802 - Twisted API
        self._lost = True
        self.setTimeout(None)
        stage, self.stage = self.stage, "closed"
        if stage == "relay" and self.relay is not None:
            self.relay.client_lost()
        elif stage == "local" and self.local is not None:
            self.local.connectionLost(reason)
        elif stage == "connecting" and self.backend is not None:
            self.backend.abort()
        if stage != "relay":
            self._release()

    def timeoutConnection(self) -> None:  # noqa: N802 - Twisted API
        self.log.info("{prefix}: Disconnected for inactivity before login", prefix=self.log_prefix)
        self.write(self.timeout_message())
        self.close()

    def timeout_message(self) -> bytes:
        return b""

    # -- helpers ----------------------------------------------------------------

    def write(self, data: bytes) -> None:
        transport: Any = self.transport
        if data and not self._lost and transport is not None:
            transport.write(data)

    def close(self) -> None:
        self.stage = "closed" if self.stage == "prelogin" else self.stage
        transport: Any = self.transport
        if transport is not None and not self._lost:
            transport.loseConnection()

    def throttle(self, held_bytes: int) -> None:
        """Stop reading while over MAX_HELD_BYTES of input waits; read again below half.

        Before login a client has no business sending more than that ahead
        of our answers; what it sends meanwhile waits in the kernel, and
        after a handover goes straight to the next protocol.
        """
        transport: Any = self.transport
        if transport is None or self._lost:
            return
        if not self._reading_paused and held_bytes > MAX_HELD_BYTES:
            self._reading_paused = True
            transport.pauseProducing()
        elif self._reading_paused and held_bytes <= MAX_HELD_BYTES // 2:
            self._reading_paused = False
            transport.resumeProducing()

    def trusted_peer(self) -> bool:
        """The connection comes from [proxy] trusted_networks (another front end)."""
        return ip_in_networks(self.context.remote_ip, self.config.trusted_networks)

    def _release(self) -> None:
        logout, self._logout = self._logout, None
        if logout is not None:
            try:
                logout()
            except Exception:
                self.log.failure("{prefix}: auth logout failed", prefix=self.log_prefix)

    # -- after a successful login here --------------------------------------------

    def logged_in(self, success: AuthSuccess, password: str | None) -> Deferred[bytes]:
        """Route the login: returns the bytes to answer the login command with.

        An empty answer means the connection was taken over (relay or local)
        and the answer was already written.
        """
        return Deferred.fromCoroutine(self._logged_in(success, password))

    async def _logged_in(self, success: AuthSuccess, password: str | None) -> bytes:
        avatar = success.user
        self.username = str(getattr(avatar, "username", ""))
        self._logout = success.logout if callable(success.logout) else None
        if self._lost:
            self._release()
            return b""
        plan = plan_proxy(
            self.config, avatar, password, self.service, self.ttl, self.context.local_ip
        )
        if isinstance(plan, NotProxied):
            if plan.local:
                return self._hand_over(success)
            self.log.error(
                "{prefix}: cannot proxy {user} (rip={ip}): {detail}",
                prefix=self.log_prefix,
                user=self.username,
                ip=self.context.remote_ip,
                detail=plan.detail,
            )
            self._release()
            return self.reply_failed(True, "Account is temporarily unavailable.")
        self.stage = "connecting"
        self.setTimeout(None)
        self._held += self.held_input()
        self._reading_paused = False  # the relay (or a refusal) resumes reading
        outcome = await start_proxy(
            self.config,
            plan,
            self.service,
            self.context,
            self.transport,
            self.ttl,
            client_tls=self.tls_active,
        )
        backend, result = outcome
        if self._lost:
            if backend is not None:
                backend.abort()
            return b""
        if isinstance(result, Refused) or backend is None:
            assert isinstance(result, Refused)
            self.stage = "prelogin"
            self.setTimeout(self.config.preauth_timeout_s)
            self._release()
            # Commands pipelined after the login are still owed an answer, after this one.
            held, self._held = bytes(self._held), bytearray()
            transport: Any = self.transport
            transport.resumeProducing()
            if held:
                self.received(held)
            level = self.log.error if result.temporary else self.log.info
            level(
                "{prefix}: proxy to {dest} failed for {user} (rip={ip}): {detail}",
                prefix=self.log_prefix,
                dest=plan.dest,
                user=plan.dest.user,
                ip=self.context.remote_ip,
                detail=result.detail,
            )
            if result.temporary:
                return self.reply_failed(True, "Account is temporarily unavailable.")
            return self.reply_failed(False, "Authentication failed.")
        self.write(self.reply_proxied(result))
        self.backend = backend
        relay = Relay(
            self.transport,
            backend.transport,
            self.log_prefix,
            on_end=lambda side: self._release(),
        )
        backend.relay = self.relay = relay
        self.stage = "relay"
        self.log.info(
            "{prefix}: proxying to {dest} ({source}) for rip={ip}",
            prefix=self.log_prefix,
            dest=plan.dest,
            source=plan.dest.source,
            ip=self.context.remote_ip,
        )
        held, self._held = bytes(self._held), bytearray()
        relay.start(from_client=held, from_backend=result.leftover)
        return b""

    def _hand_over(self, success: AuthSuccess) -> bytes:
        handover = self.config.local_imap if self.service == "imap" else self.config.local_pop3
        if handover is None:
            self.log.error(
                "{prefix}: {user} is served locally but this front end has no local"
                " {service} handover; route the user with a passdb proxy field or"
                " [proxy] backends",
                prefix=self.log_prefix,
                user=self.username,
                service=self.service,
            )
            self._release()
            return self.reply_failed(True, "Account is temporarily unavailable.")
        self.setTimeout(None)
        self.stage = "local"
        self.log.info(
            "{prefix}: Login: user=<{user}>, rip={ip}, lip={lip}{tls}, served here",
            prefix=self.log_prefix,
            user=self.username,
            ip=self.context.remote_ip,
            lip=self.context.local_ip,
            tls=", TLS" if self.tls_active else "",
        )
        takeover = Takeover(
            transport=self.transport,
            success=success,
            context=self.context,
            tls_active=self.tls_active,
            pending=self.held_input(),
            tag=self.login_tag(),
        )
        try:
            self.local = handover(takeover)
        except Exception:
            self.stage = "closed"
            self._release()
            raise
        self._logout = None  # the local session owns the login now
        if self._reading_paused:
            self._reading_paused = False
            transport: Any = self.transport
            transport.resumeProducing()
        return b""


class QueuedFrontend(FrontendProtocol, Generic[E]):
    """A front end whose input is parsed ahead and answered one item at a time, in order.

    Parsing ahead (``HeldInput``) keeps each pipelined command with its exact
    bytes, for whoever takes the connection over after the login; answering
    strictly in order keeps replies in the order RFC 3501 section 5.5 and
    RFC 2449 (PIPELINING) require.

    Args:
        config: the front end's settings.
        queue: the held input, fed through the subclass's framer.
    """

    def __init__(self, config: FrontendConfig, queue: HeldInput[E]) -> None:
        super().__init__(config)
        self._queue = queue
        self._busy = False  # a _drain is running: never two at once

    async def answer(self, item: E) -> bytes:
        """The reply to one parsed item of pre-login input."""
        raise NotImplementedError

    def internal_error_reply(self) -> bytes:
        """What the client is told before the connection closes on an internal error."""
        raise NotImplementedError

    def received(self, data: bytes) -> None:
        self._queue.feed(data)
        self.throttle(self._queue.backlog_bytes)
        self._kick()

    def _kick(self) -> None:
        if self._busy or not self._queue or self.stage != "prelogin":
            return
        self._busy = True
        d = Deferred.fromCoroutine(self._drain())
        d.addErrback(self._internal_error)

    async def _drain(self) -> None:
        try:
            while self._queue and self.stage == "prelogin" and not self._lost:
                item = self._queue.popleft()
                self.throttle(self._queue.backlog_bytes)
                self.write(await self.answer(item))
                if self.close_after_reply:
                    # Written first: a TLS transport drops writes after loseConnection.
                    self.close()
                    break
        finally:
            self._busy = False

    def _internal_error(self, failure: Any) -> None:
        self.log.failure("{prefix}: internal error", failure, prefix=self.log_prefix)
        self.write(self.internal_error_reply())
        self.close()
