"""The :class:`~mailsuite.auth.interfaces.AuthService` every protocol talks to.

It owns the policy around the portal: whether plaintext mechanisms may be
used on this connection, user name normalisation and master-user syntax,
failure penalties, the per-user+IP connection limit, and one log line per
failure (user, remote IP, mechanism, reason; never the password). It also
drives the SASL state machines, doing the secret lookup SCRAM needs between
client-first and server-first.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Sequence
from typing import Any, cast

from twisted.cred.portal import Portal
from twisted.internet.defer import Deferred
from twisted.internet.task import deferLater
from twisted.logger import Logger

from mailsuite.auth import schemes, scramkeys
from mailsuite.auth.base import Clock
from mailsuite.auth.cache import AuthCache
from mailsuite.auth.checker import LoginFailed, PassdbChecker
from mailsuite.auth.control import FlushRequests
from mailsuite.auth.credentials import PlainCredentials, stored_password
from mailsuite.auth.expand import expand, user_vars
from mailsuite.auth.interfaces import (
    AuthFailure,
    AuthSuccess,
    IMailUser,
    LoginContext,
    SaslChallenge,
    UserRecord,
)
from mailsuite.auth.penalty import ConnectionLimiter, FailurePenalty
from mailsuite.auth.realm import MailRealm
from mailsuite.auth.sasl import (
    MAX_RESPONSE_BYTES,
    PLAINTEXT_MECHANISMS,
    Challenge,
    Complete,
    Failed,
    NeedSecret,
)
from mailsuite.auth.sasl.cram_md5 import CramMd5Mechanism
from mailsuite.auth.sasl.external import ExternalMechanism
from mailsuite.auth.sasl.plain import LoginMechanism, PlainMechanism
from mailsuite.auth.sasl.scram import ScramMechanism
from mailsuite.config.schema import Settings
from mailsuite.util.net import parse_ip

__all__ = ["KNOWN_MECHANISMS", "MailAuthService", "PRIVACY_MESSAGE"]

log = Logger(namespace="mailsuite.auth")

KNOWN_MECHANISMS = ("PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256", "EXTERNAL")
PRIVACY_MESSAGE = "Plaintext authentication disallowed on non-secure (SSL/TLS) connections."
LIMIT_MESSAGE = "Maximum number of connections from user+IP exceeded."
MAX_USERNAME_CHARS = 255
# Remote addresses that mean "not a network peer" (Unix sockets).
_LOCAL_PEERS = frozenset({"", "unix", "local"})


def _valid_name(name: str) -> bool:
    # ':' separates passwd-file fields; control characters never belong in a name.
    return 0 < len(name) <= MAX_USERNAME_CHARS and not any(
        ord(c) < 32 or c in ":\x7f" for c in name
    )


def _printable(name: str) -> str:
    """A user name safe for one log line: control characters escaped, length capped."""
    shown = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in name[:100])
    return shown + ("..." if len(name) > 100 else "")


class MailAuthService:
    """Portal + policy; see the module docstring.

    Args:
        settings: the whole settings tree ([auth], [server] are used here).
        clock: Clock for penalty delays, CRAM-MD5 challenges, the cache.
        checker: the passdb chain.
        realm: the userdb chain.
        cache: the auth cache (also reached for admin flushes).
        rng: returns n random bytes.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock,
        run_blocking: Callable[..., Deferred[Any]],
        checker: PassdbChecker,
        realm: MailRealm,
        cache: AuthCache,
        penalty: FailurePenalty,
        limiter: ConnectionLimiter,
        networks: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network] = (),
        rng: Callable[[int], bytes] = os.urandom,
        control: FlushRequests | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.run_blocking = run_blocking
        self.checker = checker
        self.realm = realm
        self.cache = cache
        self.penalty = penalty
        self.limiter = limiter
        self.networks = list(networks)
        self.rng = rng
        self.control = control
        self.portal = Portal(cast(Any, realm), [cast(Any, checker)])
        self._salt_key = rng(32)

    # --- policy ---------------------------------------------------------------------------

    def plaintext_allowed(self, context: LoginContext) -> bool:
        if not self.settings.server.disable_plaintext_auth or context.secured:
            return True
        if context.remote_ip in _LOCAL_PEERS:
            return True
        ip = parse_ip(context.remote_ip)
        if ip is None:
            return False
        return ip.is_loopback or any(ip in net for net in self.networks)

    def mechanisms(self, context: LoginContext) -> list[str]:
        plain_ok = self.plaintext_allowed(context)
        out = []
        for mech in self.settings.auth.mechanisms:
            mech = mech.upper()
            if mech in PLAINTEXT_MECHANISMS and not plain_ok:
                continue
            if mech == "EXTERNAL" and not context.client_cert_subject:
                continue
            if mech in KNOWN_MECHANISMS and mech not in out:
                out.append(mech)
        return out

    def normalize(self, name: str) -> str:
        """Apply ``[auth] username_format`` (e.g. ``%Lu`` lowercases)."""
        return expand(self.settings.auth.username_format, user_vars(name))

    def split_master(self, name: str) -> tuple[str, str]:
        """``user*master`` -> ("master", "user") when master passdbs exist, else (name, "")."""
        sep = self.settings.auth.master_user_separator
        if sep and sep in name and self.checker.master_passdbs:
            user, _, master = name.rpartition(sep)
            if user and master:
                return master, user
        return name, ""

    # --- plaintext login ------------------------------------------------------------------

    def login(
        self, username: str, password: str, context: LoginContext
    ) -> Deferred[AuthSuccess | AuthFailure]:
        return Deferred.fromCoroutine(self._login(username, password, context))

    async def _login(
        self, username: str, password: str, context: LoginContext
    ) -> AuthSuccess | AuthFailure:
        if not self.plaintext_allowed(context):
            self._log_failure(context, username, "PLAIN", "plaintext auth disallowed (no TLS)")
            return AuthFailure("privacy", PRIVACY_MESSAGE)
        authcid, authzid = self.split_master(username)
        return await self.authenticate(
            PlainCredentials(authcid, password, authzid, mechanism="PLAIN"), context
        )

    # --- the shared tail of every login ---------------------------------------------------

    async def authenticate(self, creds: Any, context: LoginContext) -> AuthSuccess | AuthFailure:
        """Check credentials through the portal, applying penalties, limits and logging."""
        if self.control is not None:
            self.control.poll()
        mech = creds.mechanism
        raw_user = creds.username
        if not _valid_name(creds.username) or (creds.authzid and not _valid_name(creds.authzid)):
            return await self.fail(context, raw_user, mech, "authfailed", "invalid user name")
        creds.username = self.normalize(creds.username)
        if creds.authzid:
            creds.authzid = self.normalize(creds.authzid)
        try:
            avatar: Any
            _iface, avatar, logout = await self.portal.login(creds, None, IMailUser)
        except LoginFailed as e:
            shown = creds.username if not creds.authzid else f"{creds.authzid}*{creds.username}"
            return await self.fail(context, shown, mech, e.code, e.reason, e.message)
        except Exception:
            log.failure(
                "auth: {service}({user},{ip})<{session}>: internal error in {mech} login",
                service=context.service,
                user=creds.username,
                ip=context.remote_ip,
                session=context.session_id,
                mech=mech,
            )
            return AuthFailure("unavailable", "Temporary authentication failure.")
        release = self.limiter.acquire(avatar.username, context.remote_ip)
        if release is None:
            logout()
            self._log_failure(
                context,
                avatar.username,
                mech,
                f"too many connections (max_connections_per_user_ip={self.limiter.limit})",
            )
            return AuthFailure("limit", LIMIT_MESSAGE)
        self.penalty.succeeded(context.remote_ip)
        log.info(
            "auth: {service}({user},{ip})<{session}>: login ok, mech={mech}{master}",
            service=context.service,
            user=avatar.username,
            ip=context.remote_ip,
            session=context.session_id,
            mech=mech,
            master=f", master={avatar.master_user}" if avatar.master_user else "",
        )

        def end() -> None:
            release()
            logout()

        return AuthSuccess(avatar, end)

    async def fail(
        self,
        context: LoginContext,
        user: str,
        mech: str,
        code: str,
        reason: str,
        message: str = "Authentication failed.",
    ) -> AuthFailure:
        """Log a failure and answer it after the remote IP's penalty delay."""
        self._log_failure(context, user, mech, reason)
        if code in ("authfailed", "nologin"):
            delay = self.penalty.failed(context.remote_ip)
            if delay > 0:
                await deferLater(cast(Any, self.clock), delay, lambda: None)
        return AuthFailure(code, message)

    def _log_failure(self, context: LoginContext, user: str, mech: str, reason: str) -> None:
        log.info(
            "auth: {service}({user},{ip})<{session}>: login failed, mech={mech}: {reason}",
            service=context.service,
            user=_printable(user),
            ip=context.remote_ip,
            session=context.session_id,
            mech=mech,
            reason=reason,
        )

    # --- SASL -----------------------------------------------------------------------------

    def sasl(self, mechanism: str, context: LoginContext) -> SaslExchangeImpl | None:
        name = mechanism.upper()
        if name not in self.mechanisms(context):
            return None
        mech: Any
        if name == "PLAIN":
            mech = PlainMechanism()
        elif name == "LOGIN":
            mech = LoginMechanism()
        elif name == "CRAM-MD5":
            mech = CramMd5Mechanism(self.settings.server.hostname, self.rng, self.clock.seconds)
        elif name in scramkeys.SCRAM_HASHES:
            mech = ScramMechanism(name, self.rng, self._salt_key)
        else:
            mech = ExternalMechanism(context.client_cert_subject)
        return SaslExchangeImpl(self, mech, name, context)

    async def scram_secret(self, mech: ScramMechanism, need: NeedSecret) -> Any:
        """The first SCRAM secret the passdb chain can give for the user, or None."""
        if not _valid_name(need.authcid):
            return None
        authcid = self.normalize(need.authcid)
        authzid = self.normalize(need.authzid) if need.authzid else ""
        master = bool(authzid) and authzid != authcid
        try:
            chain = await self.checker.lookup(authcid, master)
        except Exception:  # the final check reports the real problem
            return None
        for entry in chain.entries:
            stored = stored_password(entry)
            if isinstance(stored, str):
                continue
            salt = mech.plain_salt(need.authcid)
            slow = stored.scheme != mech.mechanism
            if slow:
                secret = await self.checker.run_slow(
                    schemes.scram_secret, stored, mech.mechanism, salt
                )
            else:
                secret = schemes.scram_secret(stored, mech.mechanism, salt)
            if isinstance(secret, scramkeys.ScramSecret):
                return secret
        return None

    # --- userdb ---------------------------------------------------------------------------

    def lookup(self, username: str, context: LoginContext) -> Deferred[UserRecord | None]:
        async def run() -> UserRecord | None:
            if self.control is not None:
                self.control.poll()
            if not _valid_name(username):
                return None
            return await self.realm.find(self.normalize(username))

        return Deferred.fromCoroutine(run())

    def open_store(self, record: UserRecord) -> Any:
        return self.realm.store_factory(record)


class SaslExchangeImpl:
    """One SASL conversation driven over a mechanism state machine."""

    def __init__(self, service: MailAuthService, mech: Any, name: str, context: LoginContext):
        self.service = service
        self.mech = mech
        self.name = name
        self.context = context
        self._done = False
        self._pending: AuthSuccess | None = None  # SCRAM: success waiting for the final ack

    def step(self, response: bytes | None) -> Deferred[SaslChallenge | AuthSuccess | AuthFailure]:
        return Deferred.fromCoroutine(self._step(response))

    async def _step(self, response: bytes | None) -> SaslChallenge | AuthSuccess | AuthFailure:
        svc = self.service
        if self._done:
            return AuthFailure("authfailed", "Authentication failed.")
        if self._pending is not None:
            success, self._pending = self._pending, None
            self._done = True
            if response:  # RFC 5802 §5: after server-final the client sends nothing
                success.logout()  # type: ignore[operator]
                return await svc.fail(
                    self.context, "?", self.name, "authfailed", "data after server-final"
                )
            return success
        if response is not None and len(response) > MAX_RESPONSE_BYTES:
            self._done = True
            return await svc.fail(
                self.context, "?", self.name, "authfailed", "SASL response too long"
            )
        result = self.mech.step(response)
        if isinstance(result, NeedSecret):
            result = self.mech.provide(await svc.scram_secret(self.mech, result))
        if isinstance(result, Challenge):
            return SaslChallenge(result.data)
        self._done = True
        if isinstance(result, Failed):
            user = getattr(self.mech, "authcid", "") or "?"
            return await svc.fail(self.context, user, self.name, "authfailed", result.reason)
        assert isinstance(result, Complete)
        creds = result.credentials
        if self.name in PLAINTEXT_MECHANISMS and not creds.authzid:
            creds.username, creds.authzid = svc.split_master(creds.username)
        outcome = await svc.authenticate(creds, self.context)
        if isinstance(outcome, AuthSuccess) and isinstance(self.mech, ScramMechanism):
            # RFC 5802 §3: prove the server knew the secret before the client is told OK.
            self._done = False
            self._pending = outcome
            return SaslChallenge(self.mech.server_final().data)
        return outcome

    def cancel(self) -> None:
        """The client sent "*": end the exchange (and any login it already earned)."""
        self._done = True
        if self._pending is not None:
            self._pending.logout()  # type: ignore[operator]
            self._pending = None
