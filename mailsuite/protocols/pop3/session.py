"""The POP3 state machine (RFC 1939, 2449, 5034), with no transport.

The server hands every received line to :meth:`Pop3Session.handle_line` and
writes the :class:`Response` it gets back. The session checks the state in one
place, talks to the auth service and the store (every blocking store call goes
through the injected ``run_blocking``), and keeps the maildrop snapshot taken
at login: mail delivered later waits for the next session, DELE only marks,
and the marks are carried out at QUIT alone (RFC 1939 section 6, UPDATE).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from twisted.internet.defer import Deferred
from twisted.logger import Logger

from mailsuite.auth.interfaces import (
    AuthFailure,
    AuthService,
    AuthSuccess,
    LoginContext,
    SaslChallenge,
    SaslExchange,
)
from mailsuite.errors import ErrorKind, MailError
from mailsuite.limits import POP3_MAX_BAD_COMMANDS
from mailsuite.protocols.pop3 import commands as c
from mailsuite.protocols.pop3.commands import State
from mailsuite.protocols.pop3.maildrop import Maildrop
from mailsuite.protocols.pop3.response import Response, err, ok
from mailsuite.protocols.pop3.uidl import DEFAULT_UIDL_FORMAT, UidlFormat, compile_uidl_format
from mailsuite.protocols.pop3.wire import (
    Continue,
    LineTooLong,
    MultiLine,
    Status,
    decode_base64,
)

__all__ = ["Pop3Session", "Response", "SessionConfig"]

RunBlocking = Callable[..., "Deferred[Any]"]

# RFC 3206 / RFC 2449 response codes for AuthFailure.code.
_AUTH_CODES = {
    "authfailed": "AUTH",
    "privacy": "AUTH",
    "expired": "AUTH",
    "unavailable": "SYS/TEMP",
    "nologin": "SYS/PERM",
    "limit": "IN-USE",
}
_PLAINTEXT_REFUSED = "Plaintext authentication disallowed on non-secure (SSL/TLS) connections."
_INTERNAL = "Internal error occurred. Refer to server log."


@dataclass(frozen=True)
class SessionConfig:
    """What the session needs from the settings."""

    uidl_format: UidlFormat = dataclasses.field(
        default_factory=lambda: compile_uidl_format(DEFAULT_UIDL_FORMAT)
    )
    retr_marks_seen: bool = True
    tls_available: bool = False  # STLS offered (a TLS context exists, not yet secured)
    implementation: str = "mailsuite"


def _mail_error_code(e: MailError) -> str:
    if e.kind is ErrorKind.IN_USE:
        return "IN-USE"
    if e.kind in (ErrorKind.PERM, ErrorKind.NOT_POSSIBLE):
        return "SYS/PERM"
    return "SYS/TEMP"


class Pop3Session:
    """One POP3 connection's state, from greeting to UPDATE.

    Args:
        auth: the auth service (USER/PASS and SASL).
        context: where the connection comes from; ``secured`` is updated by
            :meth:`tls_started`.
        run_blocking: runs a blocking callable in the thread pool, returning a
            Deferred (inline in tests).
        config: protocol settings.
        tls_active: the connection is already TLS (POP3S).
    """

    log = Logger()

    def __init__(
        self,
        auth: AuthService,
        context: LoginContext,
        run_blocking: RunBlocking,
        config: SessionConfig | None = None,
        tls_active: bool = False,
    ) -> None:
        self.auth = auth
        self.context = context
        self.config = config or SessionConfig()
        self._run = run_blocking
        self.state = State.AUTHORIZATION
        self.tls_active = tls_active
        self.username: str | None = None  # set once logged in
        self._pending_user: str | None = None  # from USER, waiting for PASS
        self._sasl: SaslExchange | None = None
        self._bad_commands = 0
        self._logout: Callable[[], object] | None = None
        self.maildrop: Maildrop | None = None
        self._finished = False

    # -- what the server calls ------------------------------------------------

    def greeting(self) -> Status:
        return Status(True, f"{self.config.implementation} ready.")

    @property
    def expects_sasl_response(self) -> bool:
        """True while an AUTH exchange waits for the client's next line."""
        return self._sasl is not None

    @property
    def log_prefix(self) -> str:
        return f"pop3({self.username or self._pending_user or ''})<{self.context.session_id}>"

    def tls_started(self) -> None:
        """The transport is now TLS (after STLS): plaintext auth may be allowed now."""
        self.context = dataclasses.replace(self.context, secured=True)
        self.tls_active = True
        self.config = dataclasses.replace(self.config, tls_available=False)

    async def handle_line(self, line: bytes | LineTooLong) -> Response:
        """Answer one line from the client (a command, or a SASL response)."""
        if isinstance(line, LineTooLong):
            if self._sasl is not None:
                self._cancel_sasl()
            return self._bad(None, f"Line too long (limit {line.limit_bytes} bytes)")
        if self._sasl is not None:
            return await self._guarded("AUTH", self._sasl_continue(line))
        cmd = c.parse(line)
        if isinstance(cmd, c.BadCommand):
            return self._bad(cmd.name or None, cmd.reason)
        if self.state not in type(cmd).allowed:
            return self._bad(cmd.name, f"{cmd.name} is not valid in the {self.state.value} state")
        return await self._guarded(cmd.name, self._dispatch(cmd))

    async def _guarded(self, name: str, work: Coroutine[Any, Any, Response]) -> Response:
        """Run a handler; a store or internal failure becomes -ERR and a log line."""
        try:
            return await work
        except MailError as e:
            self.log.warn(
                "{prefix}: {cmd} failed: {detail}",
                prefix=self.log_prefix,
                cmd=name,
                detail=e.detail,
            )
            return err(e.message, _mail_error_code(e))
        except Exception:
            self._sasl = None
            self.log.failure("{prefix}: {cmd} failed", prefix=self.log_prefix, cmd=name)
            return err(_INTERNAL, "SYS/TEMP")

    async def disconnected(self) -> None:
        """The connection is gone (no QUIT): delete nothing, release everything."""
        if self._sasl is not None:
            self._cancel_sasl()
        await self._end(update=False, reason="Disconnected")

    # -- dispatch -------------------------------------------------------------

    async def _dispatch(self, cmd: c.Command) -> Response:
        match cmd:
            case c.Capa():
                return Response(MultiLine(Status(True, "Capability list follows"), self._capa()))
            case c.Quit():
                return await self._quit()
            case c.Stls():
                return self._stls()
            case c.User(username=name):
                return self._user(name)
            case c.Pass(password=password):
                return await self._pass(password)
            case c.Auth(mechanism=None):
                mechs = tuple(m.encode() for m in self.auth.mechanisms(self.context))
                return Response(MultiLine(Status(True, "Supported mechanisms"), mechs))
            case c.Auth(mechanism=str(mech), initial=initial):
                return await self._auth(mech, initial)
        assert self.maildrop is not None, "TRANSACTION state without a maildrop"
        response = await self.maildrop.handle(cmd)
        if isinstance(response.reply, Status) and not response.reply.ok:
            self.log.info(
                "{prefix}: {cmd} failed: {text}",
                prefix=self.log_prefix,
                cmd=cmd.name,
                text=response.reply.text,
            )
        return response

    def _bad(self, verb: str | None, reason: str) -> Response:
        self._bad_commands += 1
        self.log.info(
            "{prefix}: {verb}: {reason}",
            prefix=self.log_prefix,
            verb=verb or "bad line",
            reason=reason,
        )
        if self._bad_commands >= POP3_MAX_BAD_COMMANDS:
            return Response(
                Status(False, f"{reason} (too many bad commands, closing connection)"),
                close=True,
            )
        return err(reason)

    def _capa(self) -> tuple[bytes, ...]:
        # RFC 2449 section 5: capabilities available in AUTHORIZATION are
        # announced in both states; STLS only while it can still be used.
        caps = ["CAPA", "TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"]
        if self.auth.plaintext_allowed(self.context):
            caps.append("USER")
        mechs = self.auth.mechanisms(self.context)
        if mechs:
            caps.append("SASL " + " ".join(mechs))
        if self.state is State.AUTHORIZATION and self.config.tls_available:
            caps.append("STLS")
        caps.append(f"IMPLEMENTATION {self.config.implementation}")
        return tuple(x.encode() for x in caps)

    def _stls(self) -> Response:
        if self.tls_active:
            return self._bad("STLS", "TLS is already active.")
        if not self.config.tls_available:
            return self._bad("STLS", "TLS is not available.")
        if self._pending_user is not None:
            # RFC 2595 section 4: nothing from before TLS may carry over.
            self._pending_user = None
        return Response(Status(True, "Begin TLS negotiation now."), start_tls=True)

    # -- authorization --------------------------------------------------------

    def _user(self, name: str) -> Response:
        if not self.auth.plaintext_allowed(self.context):
            return self._refused("USER")
        self._pending_user = name
        return ok("Send your password.")

    def _refused(self, verb: str) -> Response:
        self.log.info(
            "{prefix}: {verb} refused: plaintext auth without TLS from {ip}",
            prefix=self.log_prefix,
            verb=verb,
            ip=self.context.remote_ip,
        )
        return err(_PLAINTEXT_REFUSED, "AUTH")

    async def _pass(self, password: str) -> Response:
        if self._pending_user is None:
            return self._bad("PASS", "No user name given: send USER first")
        if not self.auth.plaintext_allowed(self.context):
            return self._refused("PASS")
        user, self._pending_user = self._pending_user, None
        result = await self.auth.login(user, password, self.context)
        return await self._auth_result(result, user)

    async def _auth(self, mech: str, initial: bytes | None) -> Response:
        plaintext_mechs = ("PLAIN", "LOGIN")
        if mech in plaintext_mechs and not self.auth.plaintext_allowed(self.context):
            return self._refused(f"AUTH {mech}")
        exchange = self.auth.sasl(mech, self.context)
        if exchange is None:
            return self._bad("AUTH", f"Unsupported authentication mechanism: {mech[:32]}")
        response: bytes | None = None
        if initial is not None:
            # RFC 5034 section 4: "=" is an initial response of zero length.
            decoded = b"" if initial == b"=" else decode_base64(initial)
            if decoded is None:
                exchange.cancel()
                return self._bad("AUTH", "Invalid base64 data in initial response")
            response = decoded
        self._sasl = exchange
        return await self._sasl_step(response)

    async def _sasl_continue(self, line: bytes) -> Response:
        if line.strip() == b"*":
            self._cancel_sasl()
            self.log.info("{prefix}: AUTH cancelled by the client", prefix=self.log_prefix)
            return err("Authentication cancelled.")
        decoded = decode_base64(line.strip())
        if decoded is None:
            self._cancel_sasl()
            return self._bad("AUTH", "Invalid base64 data in SASL response")
        return await self._sasl_step(decoded)

    def _cancel_sasl(self) -> None:
        exchange, self._sasl = self._sasl, None
        if exchange is not None:
            exchange.cancel()

    async def _sasl_step(self, response: bytes | None) -> Response:
        assert self._sasl is not None
        try:
            result = await self._sasl.step(response)
        except Exception:
            self._sasl = None
            raise
        if isinstance(result, SaslChallenge):
            return Response(Continue(result.data))
        self._sasl = None
        return await self._auth_result(result, None)

    async def start_authenticated(self, result: AuthSuccess) -> Response:
        """Finish a login the login front end already performed, as PASS would have.

        Opens the maildrop and enters TRANSACTION; the returned reply (``+OK``
        or ``-ERR``) answers the client's login command. Added for the front
        end's in-process handover (issue 9).
        """
        return await self._auth_result(result, None)

    async def _auth_result(self, result: AuthSuccess | AuthFailure, user: str | None) -> Response:
        if isinstance(result, AuthFailure):
            code = _AUTH_CODES.get(result.code, "AUTH")
            self.log.info(
                "{prefix}: authentication failed for {user} from {ip}: {code}",
                prefix=self.log_prefix,
                user=user or "?",
                ip=self.context.remote_ip,
                code=result.code,
            )
            return err(result.message, code)
        avatar = result.user
        username = str(getattr(avatar, "username", user or ""))
        logout = result.logout if callable(result.logout) else None
        try:
            maildrop = await Maildrop.open(
                avatar,
                run_blocking=self._run,
                uidl_format=self.config.uidl_format,
                retr_marks_seen=self.config.retr_marks_seen,
                log_prefix=f"pop3({username})<{self.context.session_id}>",
            )
        except MailError as e:
            if logout is not None:
                logout()
            code = _mail_error_code(e)
            self.log.warn(
                "pop3({user})<{sid}>: cannot open the maildrop: {detail}",
                user=username,
                sid=self.context.session_id,
                detail=e.detail,
            )
            return err(e.message, code)
        except Exception:
            if logout is not None:
                logout()
            self.log.failure(
                "pop3({user})<{sid}>: cannot open the maildrop",
                user=username,
                sid=self.context.session_id,
            )
            return err(_INTERNAL, "SYS/TEMP")
        if self._finished:
            # The client went away while we were logging it in: let go at once.
            await maildrop.close(update=False)
            if logout is not None:
                logout()
            return err("Disconnected.")
        self.username = username
        self._logout = logout
        self.maildrop = maildrop
        self.state = State.TRANSACTION
        self.log.info(
            "{prefix}: Logged in from {ip}: {count} messages, {size} octets",
            prefix=self.log_prefix,
            ip=self.context.remote_ip,
            count=maildrop.count,
            size=maildrop.total_size,
        )
        return ok("Logged in.")

    # -- the end ----------------------------------------------------------------

    async def _quit(self) -> Response:
        if self.state is State.AUTHORIZATION:
            await self._end(update=False, reason="Logged out")
            return Response(Status(True, "Logging out."), close=True)
        # RFC 1939 section 6: QUIT from TRANSACTION enters UPDATE.
        self.state = State.UPDATE
        failed = await self._end(update=True, reason="Logged out")
        if failed:
            return Response(
                Status(False, "Some deleted messages were not removed.", "SYS/TEMP"),
                close=True,
            )
        return Response(Status(True, "Logging out."), close=True)

    async def _end(self, update: bool, reason: str) -> bool:
        """Release the maildrop (carrying out DELE only when ``update``); True on failure."""
        if self._finished:
            return False
        self._finished = True
        failed = False
        maildrop, self.maildrop = self.maildrop, None
        try:
            if maildrop is not None:
                failed = not await maildrop.close(update=update)
                self.log.info(
                    "{prefix}: {reason} {stats}",
                    prefix=self.log_prefix,
                    reason=reason,
                    stats=maildrop.stats(),
                )
            else:
                self.log.info(
                    "{prefix}: {reason} before logging in (rip={ip})",
                    prefix=self.log_prefix,
                    reason=reason,
                    ip=self.context.remote_ip,
                )
        finally:
            logout, self._logout = self._logout, None
            if logout is not None:
                try:
                    logout()
                except Exception:
                    self.log.failure("{prefix}: auth logout failed", prefix=self.log_prefix)
        return failed
