"""The IMAP front end: everything before login, then proxy or hand over.

Answers CAPABILITY, NOOP, LOGOUT, ID, STARTTLS, LOGIN and AUTHENTICATE (RFC
3501 6.1-6.2, RFC 2971, RFC 4959) through the shared auth service, using the
IMAP wire layer's framer and command parser, then hands the connection on
(see :mod:`.frontend`). After a proxied login the client gets the backend's
tagged OK under its own tag, with the backend's capabilities (RFC 3501 7.1:
they may change at login); a backend that is down or refuses gives
``NO [UNAVAILABLE]`` (RFC 5530).

A front end or proxy in ``[proxy] trusted_networks`` may tell us the real
client's address and the hop count with ID ``x-originating-ip``,
``x-originating-port`` and ``x-proxy-ttl`` (Dovecot's convention); from
anyone else those fields are only logged.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Final

from twisted.internet.protocol import Factory

from mailsuite import limits
from mailsuite.auth.interfaces import AuthFailure, AuthSuccess, SaslChallenge, SaslExchange
from mailsuite.protocols.imap import commands as c
from mailsuite.protocols.imap.wire import data
from mailsuite.protocols.imap.wire import responses as r
from mailsuite.protocols.imap.wire.framer import (
    PREAUTH_MAX_LITERAL_BYTES,
    Event,
    Framer,
    InputOverflow,
    LineTooLong,
    LiteralTooLarge,
    NeedLiteral,
)
from mailsuite.protocols.imap.wire.reader import ParseError
from mailsuite.protocols.imap.wire.responses import BAD, BYE, NO, OK, Code

from .backend_login import LoggedIn
from .frontend import QueuedFrontend
from .handoff import FrontendConfig
from .held import HeldInput
from .pop3_frontend import sasl_password

__all__ = ["ImapFrontend", "ImapFrontendFactory"]

_AUTH_CODES: Final = {
    "authfailed": Code.AUTHENTICATIONFAILED,
    "unavailable": Code.UNAVAILABLE,
    "nologin": Code.AUTHORIZATIONFAILED,
    "limit": Code.LIMIT,
    "privacy": Code.PRIVACYREQUIRED,
    "expired": Code.EXPIRED,
}
_PLAINTEXT_REFUSED: Final = (
    "Plaintext authentication disallowed on non-secure (SSL/TLS) connections."
)


class ImapFrontend(QueuedFrontend[Event]):
    """One client connection to the IMAP front end."""

    service = "imap"

    def __init__(self, config: FrontendConfig) -> None:
        super().__init__(config, HeldInput(lambda b: self._framer.feed(b)))
        self._framer = Framer(max_literal_bytes=PREAUTH_MAX_LITERAL_BYTES)
        self._sasl: SaslExchange | None = None
        self._sasl_tag = b""
        self._sasl_mech = ""
        self._sasl_responses: list[bytes | None] = []
        self._login_tag = b"*"
        self._bad = 0
        self._commands = 0

    # -- what the base class asks -----------------------------------------------

    def capabilities(self) -> list[str]:
        caps = ["IMAP4rev1", "SASL-IR", "LITERAL+", "ID", "ENABLE", "IDLE"]
        if self.config.tls_options is not None and not self.tls_active:
            caps.append("STARTTLS")
        if not self.config.auth.plaintext_allowed(self.context):
            caps.append("LOGINDISABLED")
        caps.extend("AUTH=" + m for m in self.config.auth.mechanisms(self.context))
        return caps

    def greeting(self) -> bytes:
        return r.untagged_status(OK, "mailsuite ready.", r.code_capability(self.capabilities()))

    def timeout_message(self) -> bytes:
        return r.untagged_status(BYE, "Disconnected for inactivity.")

    def reply_proxied(self, logged_in: LoggedIn) -> bytes:
        reply = logged_in.reply
        if b"[CAPABILITY" not in reply.upper() and logged_in.capabilities:
            caps = r.code_capability(logged_in.capabilities)
            return r.tagged(self._login_tag, OK, "Logged in", caps)
        return self._login_tag + b" " + reply + b"\r\n"

    def reply_failed(self, temporary: bool, text: str) -> bytes:
        code = Code.UNAVAILABLE if temporary else Code.AUTHENTICATIONFAILED
        return r.tagged(self._login_tag, NO, text, code)

    def held_input(self) -> bytes:
        # The framer's half command is in the raw bytes too: it starts afresh on a replay.
        self._framer = Framer(max_literal_bytes=PREAUTH_MAX_LITERAL_BYTES)
        return self._queue.take_raw()

    def login_tag(self) -> bytes:
        return self._login_tag

    # -- input --------------------------------------------------------------------

    def internal_error_reply(self) -> bytes:
        return r.untagged_status(BYE, "Internal error occurred. Refer to server log.")

    async def answer(self, event: Event) -> bytes:
        if isinstance(event, NeedLiteral):
            return r.continuation() if event.synchronizing else b""
        if isinstance(event, (LineTooLong, LiteralTooLarge, InputOverflow)):
            if isinstance(event, InputOverflow) or (
                isinstance(event, LiteralTooLarge) and event.fatal
            ):
                self.close_after_reply = True
            return r.framing_error(event)
        if self._sasl is not None:
            return await self._sasl_line(event.data)
        cmd = c.parse_command(event.data)
        if cmd is None:
            return b""
        self._commands += 1
        if self._commands > limits.IMAP_MAX_PREAUTH_COMMANDS:
            self.close_after_reply = True
            return r.untagged_status(BYE, "Too many commands before login.")
        if isinstance(cmd, c.BadCommand):
            return self._bad_input(cmd.response())
        if c.State.NOT_AUTHENTICATED not in type(cmd).allowed:
            name = cmd.name.decode("ascii")
            return self._bad_input(r.tagged(cmd.tag, BAD, f"{name} is not allowed before login."))
        return await self._command(cmd)

    def _bad_input(self, line: bytes) -> bytes:
        self._bad += 1
        if self._bad >= limits.IMAP_MAX_BAD_COMMANDS:
            self.close_after_reply = True
            return line + r.untagged_status(BYE, "Too many invalid commands.")
        return line

    async def _command(self, cmd: c.Command) -> bytes:
        match cmd:
            case c.Capability():
                return data.capability(self.capabilities()) + r.tagged(
                    cmd.tag, OK, "Capability completed."
                )
            case c.Noop():
                return r.tagged(cmd.tag, OK, "NOOP completed.")
            case c.Logout():
                self.close_after_reply = True
                return r.untagged_status(BYE, "Logging out") + r.tagged(
                    cmd.tag, OK, "Logout completed."
                )
            case c.Id():
                return self._id(cmd)
            case c.Starttls():
                return self._starttls(cmd)
            case c.Login():
                return await self._login(cmd)
            case c.Authenticate():
                return await self._authenticate(cmd)
        return r.tagged(cmd.tag, BAD, f"{cmd.name.decode()} is not allowed before login.")

    def _id(self, cmd: c.Id) -> bytes:
        fields = dict(cmd.fields or ())
        if fields:
            self.log.info(
                "{prefix}: ID {fields}",
                prefix=self.log_prefix,
                fields=" ".join(f"{k}={v}" for k, v in fields.items()),
            )
        if fields and self.trusted_peer():
            # Another front end speaks for the client (Dovecot's login_trusted_networks).
            ip = fields.get("x-originating-ip")
            if ip:
                self.context = dataclasses.replace(self.context, remote_ip=ip)
            ttl = fields.get("x-proxy-ttl") or ""
            if ttl.isdigit():
                self.ttl = min(self.ttl, int(ttl))
        body = data.id_response({"name": "mailsuite"})
        return body + r.tagged(cmd.tag, OK, "ID completed.")

    def _starttls(self, cmd: c.Starttls) -> bytes:
        if self.tls_active:
            return r.tagged(cmd.tag, BAD, "TLS is already active.")
        if self.config.tls_options is None:
            return r.tagged(cmd.tag, NO, "TLS is not available.", Code.CANNOT)
        # RFC 3501 6.2.1 (CVE-2011-0411): nothing pipelined before TLS survives it.
        self._queue.clear()
        self._framer = Framer(max_literal_bytes=PREAUTH_MAX_LITERAL_BYTES)
        self.write(r.tagged(cmd.tag, OK, "Begin TLS negotiation now."))
        self.transport.startTLS(self.config.tls_options)  # type: ignore[union-attr]
        self.tls_active = True
        self.context = dataclasses.replace(self.context, secured=True)
        return b""

    async def _login(self, cmd: c.Login) -> bytes:
        if not self.config.auth.plaintext_allowed(self.context):
            return r.tagged(cmd.tag, NO, _PLAINTEXT_REFUSED, Code.PRIVACYREQUIRED)
        password = cmd.password.decode("utf-8", "replace")
        result = await self.config.auth.login(cmd.user, password, self.context)
        return await self._result(cmd.tag, result, password)

    async def _authenticate(self, cmd: c.Authenticate) -> bytes:
        mech = cmd.mechanism.upper()
        auth = self.config.auth
        if mech in ("PLAIN", "LOGIN") and not auth.plaintext_allowed(self.context):
            return r.tagged(cmd.tag, NO, _PLAINTEXT_REFUSED, Code.PRIVACYREQUIRED)
        exchange = auth.sasl(mech, self.context)
        if exchange is None:
            text = f"Unsupported authentication mechanism {mech[:32]}."
            return r.tagged(cmd.tag, NO, text, Code.CANNOT)
        self._sasl, self._sasl_tag, self._sasl_mech = exchange, cmd.tag, mech
        self._sasl_responses = []
        return await self._sasl_step(cmd.initial_response)

    async def _sasl_line(self, line: bytes) -> bytes:
        tag = self._sasl_tag
        if c.is_sasl_cancel(line):
            self._cancel_sasl()
            return r.tagged(tag, BAD, "Authentication cancelled.")
        try:
            response = c.decode_sasl(line.strip(b" "))
        except ParseError as e:
            self._cancel_sasl()
            return r.tagged(tag, BAD, e.message)
        return await self._sasl_step(response)

    def _cancel_sasl(self) -> None:
        exchange, self._sasl = self._sasl, None
        if exchange is not None:
            exchange.cancel()

    async def _sasl_step(self, response: bytes | None) -> bytes:
        assert self._sasl is not None
        self._sasl_responses.append(response)
        try:
            result = await self._sasl.step(response)
        except Exception:
            self._sasl = None
            raise
        if isinstance(result, SaslChallenge):
            return r.continuation_data(result.data)
        self._sasl = None
        password = sasl_password(self._sasl_mech, self._sasl_responses)
        self._sasl_responses = []
        return await self._result(self._sasl_tag, result, password)

    async def _result(
        self, tag: bytes, result: AuthSuccess | AuthFailure, password: str | None
    ) -> bytes:
        if isinstance(result, AuthFailure):
            code = _AUTH_CODES.get(result.code, Code.AUTHENTICATIONFAILED)
            return r.tagged(tag, NO, result.message, code)
        self._login_tag = tag
        return await self.logged_in(result, password)


class ImapFrontendFactory(Factory):
    """Builds an :class:`ImapFrontend` per connection."""

    noisy = False

    def __init__(self, config: FrontendConfig) -> None:
        self.config = config

    def buildProtocol(self, addr: Any) -> ImapFrontend:  # noqa: N802 - Twisted API
        protocol = ImapFrontend(self.config)
        protocol.factory = self
        return protocol
