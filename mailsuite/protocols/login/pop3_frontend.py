"""The POP3 front end: everything before login, then proxy or hand over.

Answers CAPA, STLS, USER/PASS, AUTH (RFC 1939, 2449, 2595, 5034) and QUIT
through the shared auth service (its penalties and per-user+IP limits apply
here), then hands the connection on (see :mod:`.frontend`). Other commands
get ``-ERR`` as in the AUTHORIZATION state of any POP3 server. After a proxied
login the client sees the backend's ``+OK``; a backend that is down or
refuses gives ``-ERR [SYS/TEMP]`` (RFC 3206).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Final

from twisted.internet.protocol import Factory

from mailsuite import limits
from mailsuite.auth.interfaces import AuthFailure, AuthSuccess, SaslChallenge, SaslExchange
from mailsuite.protocols.pop3 import commands as c
from mailsuite.protocols.pop3.wire import (
    Continue,
    LineBuffer,
    LineTooLong,
    MultiLine,
    Status,
    decode_base64,
)

from .backend_login import LoggedIn
from .frontend import QueuedFrontend
from .handoff import FrontendConfig
from .held import HeldInput

__all__ = ["Pop3Frontend", "Pop3FrontendFactory"]

_PREAUTH_MAX_BAD: Final = limits.POP3_MAX_BAD_COMMANDS
_AUTH_CODES: Final = {
    "unavailable": "SYS/TEMP",
    "nologin": "SYS/PERM",
    "limit": "IN-USE",
}
_PLAINTEXT_REFUSED: Final = (
    "Plaintext authentication disallowed on non-secure (SSL/TLS) connections."
)


def sasl_password(mechanism: str, responses: list[bytes | None]) -> str | None:
    """The plaintext password a PLAIN or LOGIN exchange carried; None for other mechanisms."""
    sent = [r for r in responses if r is not None]
    if not sent:
        return None
    if mechanism == "PLAIN":
        parts = sent[-1].split(b"\0")
        return parts[2].decode("utf-8", "replace") if len(parts) == 3 else None
    if mechanism == "LOGIN":
        return sent[-1].decode("utf-8", "replace")
    return None


class Pop3Frontend(QueuedFrontend[bytes | LineTooLong]):
    """One client connection to the POP3 front end."""

    service = "pop3"

    def __init__(self, config: FrontendConfig) -> None:
        super().__init__(config, HeldInput(lambda b: self._lines.feed(b)))
        self._lines = LineBuffer(limits.POP3_MAX_SASL_LINE_BYTES)
        self._pending_user: str | None = None
        self._sasl: SaslExchange | None = None
        self._sasl_mech = ""
        self._sasl_responses: list[bytes | None] = []
        self._bad = 0

    def greeting(self) -> bytes:
        return Status(True, "mailsuite ready.").encode()

    def timeout_message(self) -> bytes:
        return Status(False, "Disconnected for inactivity.").encode()

    def reply_proxied(self, logged_in: LoggedIn) -> bytes:
        return logged_in.reply + b"\r\n"

    def reply_failed(self, temporary: bool, text: str) -> bytes:
        return Status(False, text, "SYS/TEMP" if temporary else "AUTH").encode()

    def held_input(self) -> bytes:
        # The half line is in the raw bytes too: the buffer starts afresh on a replay.
        self._lines.clear()
        return self._queue.take_raw()

    # -- input --------------------------------------------------------------------

    def internal_error_reply(self) -> bytes:
        return Status(False, "Internal error occurred. Refer to server log.", "SYS/TEMP").encode()

    def _bad_command(self, reason: str) -> bytes:
        self._bad += 1
        if self._bad >= _PREAUTH_MAX_BAD:
            self.close_after_reply = True
            return Status(False, f"{reason} (too many bad commands, closing connection)").encode()
        return Status(False, reason).encode()

    async def answer(self, line: bytes | LineTooLong) -> bytes:
        if isinstance(line, LineTooLong):
            self._cancel_sasl()
            return self._bad_command(f"Line too long (limit {line.limit_bytes} bytes)")
        if self._sasl is not None:
            return await self._sasl_line(line)
        cmd = c.parse(line)
        if isinstance(cmd, c.BadCommand):
            return self._bad_command(cmd.reason)
        match cmd:
            case c.Capa():
                return MultiLine(Status(True, "Capability list follows"), self._capa()).encode()
            case c.Quit():
                self.close_after_reply = True
                return Status(True, "Logging out.").encode()
            case c.Stls():
                return self._stls()
            case c.User(username=name):
                if not self.config.auth.plaintext_allowed(self.context):
                    return Status(False, _PLAINTEXT_REFUSED, "AUTH").encode()
                self._pending_user = name
                return Status(True, "Send your password.").encode()
            case c.Pass(password=password):
                return await self._pass(password)
            case c.Auth(mechanism=None):
                mechs = tuple(m.encode() for m in self.config.auth.mechanisms(self.context))
                return MultiLine(Status(True, "Supported mechanisms"), mechs).encode()
            case c.Auth(mechanism=str(mech), initial=initial):
                return await self._auth(mech, initial)
        return self._bad_command(f"{cmd.name} is not valid in the AUTHORIZATION state")

    def _capa(self) -> tuple[bytes, ...]:
        caps = ["CAPA", "TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"]
        if self.config.auth.plaintext_allowed(self.context):
            caps.append("USER")
        mechs = self.config.auth.mechanisms(self.context)
        if mechs:
            caps.append("SASL " + " ".join(mechs))
        if not self.tls_active and self.config.tls_options is not None:
            caps.append("STLS")
        caps.append("IMPLEMENTATION mailsuite")
        return tuple(x.encode() for x in caps)

    def _stls(self) -> bytes:
        if self.tls_active:
            return self._bad_command("TLS is already active.")
        if self.config.tls_options is None:
            return self._bad_command("TLS is not available.")
        # RFC 2595 section 4 (CVE-2011-0411): nothing pipelined before TLS survives it.
        self._queue.clear()
        self._lines.clear()
        self._pending_user = None
        self.write(Status(True, "Begin TLS negotiation now.").encode())
        self.transport.startTLS(self.config.tls_options)  # type: ignore[union-attr]
        self.tls_active = True
        self.context = dataclasses.replace(self.context, secured=True)
        return b""

    # -- login --------------------------------------------------------------------

    async def _pass(self, password: str) -> bytes:
        if self._pending_user is None:
            return self._bad_command("No user name given: send USER first")
        user, self._pending_user = self._pending_user, None
        result = await self.config.auth.login(user, password, self.context)
        return await self._result(result, password)

    async def _auth(self, mech: str, initial: bytes | None) -> bytes:
        if mech in ("PLAIN", "LOGIN") and not self.config.auth.plaintext_allowed(self.context):
            return Status(False, _PLAINTEXT_REFUSED, "AUTH").encode()
        exchange = self.config.auth.sasl(mech, self.context)
        if exchange is None:
            return self._bad_command(f"Unsupported authentication mechanism: {mech[:32]}")
        response: bytes | None = None
        if initial is not None:
            decoded = b"" if initial == b"=" else decode_base64(initial)
            if decoded is None:
                exchange.cancel()
                return self._bad_command("Invalid base64 data in initial response")
            response = decoded
        self._sasl, self._sasl_mech, self._sasl_responses = exchange, mech, []
        return await self._sasl_step(response)

    async def _sasl_line(self, line: bytes) -> bytes:
        if line.strip() == b"*":
            self._cancel_sasl()
            return Status(False, "Authentication cancelled.").encode()
        decoded = decode_base64(line.strip())
        if decoded is None:
            self._cancel_sasl()
            return self._bad_command("Invalid base64 data in SASL response")
        return await self._sasl_step(decoded)

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
            return Continue(result.data).encode()
        self._sasl = None
        password = sasl_password(self._sasl_mech, self._sasl_responses)
        self._sasl_responses = []
        return await self._result(result, password)

    async def _result(self, result: AuthSuccess | AuthFailure, password: str | None) -> bytes:
        if isinstance(result, AuthFailure):
            code = _AUTH_CODES.get(result.code, "AUTH")
            return Status(False, result.message, code).encode()
        return await self.logged_in(result, password)


class Pop3FrontendFactory(Factory):
    """Builds a :class:`Pop3Frontend` per connection."""

    noisy = False

    def __init__(self, config: FrontendConfig) -> None:
        self.config = config

    def buildProtocol(self, addr: Any) -> Pop3Frontend:  # noqa: N802 - Twisted API
        protocol = Pop3Frontend(self.config)
        protocol.factory = self
        return protocol
