"""``build_auth_service``: settings in, a ready :class:`MailAuthService` out.

The one entry point the composition root and the admin commands use. Every
config mistake it can see (unknown driver, missing path, bad network, unknown
mechanism) stops start-up with one line naming the key.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable
from typing import Any

from twisted.internet.defer import Deferred

from mailsuite.auth.cache import AuthCache
from mailsuite.auth.checker import PassdbChecker
from mailsuite.auth.control import FlushRequests
from mailsuite.auth.interfaces import UserRecord
from mailsuite.auth.passdb import build_passdb
from mailsuite.auth.penalty import ConnectionLimiter, FailurePenalty
from mailsuite.auth.realm import MailRealm
from mailsuite.auth.service import KNOWN_MECHANISMS, MailAuthService
from mailsuite.auth.userdb import build_userdb
from mailsuite.config.load import resolve_path
from mailsuite.config.schema import Settings
from mailsuite.errors import ConfigError

__all__ = ["build_auth_service"]


def _networks(settings: Settings) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    out = []
    for text in settings.server.plaintext_auth_networks:
        try:
            out.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ConfigError(
                f"[server] plaintext_auth_networks: {text!r} is not an IP network "
                '(write e.g. "10.0.0.0/8")'
            ) from None
    return out


def _check_auth(settings: Settings) -> None:
    a = settings.auth
    for mech in a.mechanisms:
        if mech.upper() not in KNOWN_MECHANISMS:
            raise ConfigError(
                f"[auth] mechanisms: unknown mechanism {mech!r} "
                f"(known: {', '.join(KNOWN_MECHANISMS)})"
            )
    if a.cache_size < 0 or a.cache_ttl_s < 0 or a.cache_negative_ttl_s < 0:
        raise ConfigError(
            "[auth] cache_size, cache_ttl_s, cache_negative_ttl_s: must not be negative"
        )
    if a.failure_delay_s < 0 or a.failure_delay_max_s < a.failure_delay_s:
        raise ConfigError("[auth] failure_delay_max_s: must be >= failure_delay_s >= 0")
    if a.hash_workers < 0:
        raise ConfigError("[auth] hash_workers: must be >= 0 (0: one per CPU)")
    if "%" not in a.username_format:
        raise ConfigError(f"[auth] username_format: {a.username_format!r} has no %u variable")


def build_auth_service(
    settings: Settings,
    *,
    reactor: Any,
    run_blocking: Callable[..., Deferred[Any]],
    store_factory: Callable[[UserRecord], Any],
    rng: Callable[[int], bytes] = os.urandom,
) -> MailAuthService:
    """Build the portal, passdb/userdb chains, cache and defences from settings.

    Args:
        settings: the loaded settings.
        reactor: provides IReactorTime (a ``task.Clock`` in tests).
        run_blocking: ``run_blocking(f, *args, **kw) -> Deferred`` in the thread pool.
        store_factory: ``UserRecord -> MailStore`` (blocking).
        rng: random bytes source (injected for tests).

    Raises:
        ConfigError: the auth configuration cannot work.
    """
    _check_auth(settings)
    networks = _networks(settings)
    if not settings.passdb:
        raise ConfigError("[[passdb]]: at least one passdb is needed")
    if not settings.userdb:
        raise ConfigError("[[userdb]]: at least one userdb is needed")
    all_passdbs = [build_passdb(cfg, settings, i) for i, cfg in enumerate(settings.passdb)]
    passdbs = [p for p in all_passdbs if not p.master]
    masters = [p for p in all_passdbs if p.master]
    if not passdbs:
        raise ConfigError("[[passdb]]: every passdb is a master passdb; add a normal one")
    userdbs = [build_userdb(cfg, settings, i) for i, cfg in enumerate(settings.userdb)]
    a = settings.auth
    cache = AuthCache(reactor, a.cache_size, a.cache_ttl_s, a.cache_negative_ttl_s)
    checker = PassdbChecker(passdbs, masters, cache, run_blocking, a.hash_workers)

    async def passdb_knows(user: str) -> bool:
        return bool((await checker.lookup(user)).entries)

    realm = MailRealm(userdbs, settings, store_factory, run_blocking, passdb_knows, cache)
    return MailAuthService(
        settings,
        clock=reactor,
        run_blocking=run_blocking,
        checker=checker,
        realm=realm,
        cache=cache,
        penalty=FailurePenalty(reactor, a.failure_delay_s, a.failure_delay_max_s),
        limiter=ConnectionLimiter(a.max_connections_per_user_ip),
        networks=networks,
        rng=rng,
        control=FlushRequests(
            resolve_path(settings, settings.server.state_dir), cache.flush, reactor.seconds
        ),
    )
