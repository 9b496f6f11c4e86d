"""The passdb chain as one twisted.cred ``ICredentialsChecker``, with the auth cache.

Dovecot's passdb chain semantics: the passdbs are asked in order; the first
whose entry accepts the credentials wins (its extra fields go with the
login); a mismatch moves on to the next; if none accepts and one could not be
asked (database down) the answer is a temporary failure, not "wrong password".
A login ``authzid`` different from the authenticating user is a master-user
login: the credentials are checked against the master passdbs only.

Lookups and slow hash verifications run through ``run_blocking``; fast
schemes are verified inline.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from twisted.cred.checkers import ICredentialsChecker
from twisted.cred.error import UnauthorizedLogin
from twisted.internet.defer import Deferred, DeferredSemaphore
from zope.interface import implementer

from mailsuite.auth import schemes
from mailsuite.auth.base import AuthUnavailable, Passdb, PassdbEntry
from mailsuite.auth.cache import AuthCache, CacheEntry
from mailsuite.auth.credentials import IMailCredentials, stored_password

__all__ = ["AuthenticatedId", "ChainLookup", "LoginFailed", "PassdbChecker"]

RunBlocking = Callable[..., "Deferred[Any]"]


class LoginFailed(UnauthorizedLogin):
    """A refused login: ``code`` as in AuthFailure, ``reason`` for the admin's log."""

    def __init__(self, code: str, reason: str, message: str = "Authentication failed.") -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.message = message


class AuthenticatedId(str):
    """The avatar ID the checker hands to the realm: the user, plus the passdb's fields."""

    passdb_fields: dict[str, str]
    master_user: str

    def __new__(cls, user: str, fields: dict[str, str], master_user: str = "") -> AuthenticatedId:
        self = super().__new__(cls, user)
        self.passdb_fields = fields
        self.master_user = master_user
        return self


@dataclass(frozen=True)
class ChainLookup:
    """Every passdb's entry for one user, and the errors of those that could not answer."""

    entries: tuple[PassdbEntry, ...]
    errors: tuple[str, ...] = ()
    cache: CacheEntry | None = field(default=None, compare=False)
    from_cache: bool = False


@implementer(ICredentialsChecker)
class PassdbChecker:
    """Checks :class:`IMailCredentials` against the passdb chain.

    Args:
        passdbs: the normal passdbs, in order.
        master_passdbs: passdbs for master-user logins.
        cache: the auth cache (may be disabled).
        run_blocking: runs a blocking callable in the thread pool.
    """

    credentialInterfaces = (IMailCredentials,)

    def __init__(
        self,
        passdbs: Sequence[Passdb],
        master_passdbs: Sequence[Passdb],
        cache: AuthCache,
        run_blocking: RunBlocking,
        hash_workers: int = 0,
    ) -> None:
        self.passdbs = list(passdbs)
        self.master_passdbs = list(master_passdbs)
        self.cache = cache
        self.run_blocking = run_blocking
        # At most this many slow hashes at once, so they never fill the whole thread pool.
        self.slow_hashes = DeferredSemaphore(hash_workers or os.cpu_count() or 2)
        self._last_slow_scheme: str | None = None
        self._dummies: dict[str, str] = {}

    # twisted.cred's annotation says bytes, but an avatar ID may be any object the
    # realm understands (cred's own docs); ours is a str that carries the passdb fields.
    def requestAvatarId(  # type: ignore[override]  # noqa: N802
        self, credentials: Any
    ) -> Deferred[AuthenticatedId]:
        return Deferred.fromCoroutine(self.check(credentials))

    async def lookup(self, user: str, master: bool = False, use_cache: bool = True) -> ChainLookup:
        """Every passdb's entry for ``user`` (through the cache unless ``use_cache`` is false)."""
        kind = "master" if master else "passdb"
        if use_cache and self.cache.enabled:
            hit = self.cache.get(kind, user)
            if hit is not None:
                return ChainLookup(hit.entries, (), hit, True)
        chain = self.master_passdbs if master else self.passdbs
        entries: list[PassdbEntry] = []
        errors: list[str] = []
        for db in chain:
            try:
                found = await self.run_blocking(db.lookup, user)
            except AuthUnavailable as e:
                errors.append(str(e))
                continue
            if found is not None:
                entries.append(found)
        cached = None
        if not errors:  # never cache an answer a broken database shaped
            cached = self.cache.put(kind, user, tuple(entries))
        return ChainLookup(tuple(entries), tuple(errors), cached, False)

    def run_slow(self, f: Callable[..., Any], *args: Any) -> Deferred[Any]:
        """Run a slow hash computation in the pool, within the hash worker limit."""
        return self.slow_hashes.run(self.run_blocking, f, *args)

    async def _equalize_timing(self, creds: Any) -> None:
        """Spend on an unknown user what a known one costs, so timing does not tell them apart.

        The hash checked is a throwaway one in the scheme real users were last
        verified with (nothing when no slow scheme has been seen yet).
        """
        scheme = self._last_slow_scheme
        if scheme is None or not hasattr(creds, "password"):
            return
        dummy = self._dummies.get(scheme)
        if dummy is None:
            dummy = await self.run_slow(schemes.generate, scheme, secrets.token_hex(16))
            self._dummies[scheme] = dummy
        dummy_entry = PassdbEntry(creds.username, dummy, scheme, {}, "timing")
        await self.run_slow(creds.verify, dummy_entry)

    async def _verify(self, creds: Any, entries: Sequence[PassdbEntry]) -> tuple[int, str]:
        """Index of the first entry accepting ``creds`` (-1 if none) and the last reason."""
        reason = "unknown user"
        for i, entry in enumerate(entries):
            if creds.is_slow(entry):
                stored = stored_password(entry)
                if not isinstance(stored, str):
                    self._last_slow_scheme = stored.scheme
                reason = await self.run_slow(creds.verify, entry)
            else:
                reason = creds.verify(entry)
            if not reason:
                return i, ""
        return -1, reason

    async def check(self, creds: Any) -> AuthenticatedId:
        """Verify ``creds``; returns the avatar ID or raises :class:`LoginFailed`."""
        authcid = creds.username
        authzid = creds.authzid or authcid
        master = authzid != authcid
        if master and not self.master_passdbs:
            raise LoginFailed("authfailed", f"master login as {authzid} refused: no master passdb")
        kind = "master" if master else "passdb"
        result = await self.lookup(authcid, master)
        token = creds.cache_token(self.cache.key) if result.cache is not None else None
        # Fast path: this exact secret verified before and the entry is still fresh.
        if result.from_cache and token is not None and result.cache is not None:
            index = result.cache.successes.get(token)
            if index is not None and index < len(result.entries):
                return await self._success(result.entries[index], authzid, master, authcid)
        index, reason = await self._verify(creds, result.entries)
        if index < 0 and result.from_cache and result.cache is not None and result.cache.successes:
            # Dovecot's rule: a failure where the cache had a success may be a changed
            # password; ask the passdb again, uncached, before saying no.
            self.cache.forget(kind, authcid)
            result = await self.lookup(authcid, master, use_cache=False)
            index, reason = await self._verify(creds, result.entries)
        if index < 0:
            if result.errors:
                raise LoginFailed(
                    "unavailable",
                    "; ".join(result.errors),
                    "Temporary authentication failure.",
                )
            if not result.entries:
                reason = "unknown user"
                await self._equalize_timing(creds)
            raise LoginFailed("authfailed", reason)
        if token is not None and result.cache is not None:
            self.cache.remember_success(result.cache, token, index)
        return await self._success(result.entries[index], authzid, master, authcid)

    async def _success(
        self, entry: PassdbEntry, authzid: str, master: bool, authcid: str
    ) -> AuthenticatedId:
        fields = dict(entry.fields)
        if master:
            # The target user's own passdb fields (proxy, host...) still route the login;
            # an admin may log in as a nologin user, so nologin is not applied here.
            target = await self.lookup(authzid)
            if target.entries:
                first = target.entries[0]
                return AuthenticatedId(first.user, dict(first.fields), master_user=authcid)
            return AuthenticatedId(authzid, {}, master_user=authcid)
        if fields.get("nologin", "").lower() in ("y", "yes", "1", "true") and "proxy" not in fields:
            raise LoginFailed(
                "nologin",
                f"nologin field set ({entry.source})",
                fields.get("reason") or "Login disabled for this user.",
            )
        return AuthenticatedId(entry.user, fields)
