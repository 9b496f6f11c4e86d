"""The login/proxy front end's listeners (``[proxy]``), and the backend-side PROXY listeners.

With ``[proxy] enabled`` the front end listens on ``imap_listen``/``imap_tls_listen``
and ``pop3_listen``/``pop3_tls_listen``. Independently of ``enabled``, a backend
may open ``haproxy_imap_listen``/``haproxy_pop3_listen``: its ordinary IMAP/POP3
service, for front ends in ``trusted_networks`` that send a PROXY v2 header.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from typing import Any

from twisted.application import service
from twisted.logger import Logger
from twisted.protocols.tls import TLSMemoryBIOFactory

from mailsuite.config import Settings
from mailsuite.errors import ConfigError
from mailsuite.protocols.login.handoff import FrontendConfig
from mailsuite.protocols.login.imap_frontend import ImapFrontendFactory
from mailsuite.protocols.login.pop3_frontend import Pop3FrontendFactory
from mailsuite.protocols.login.proxy_listener import ProxyHeaderFactory
from mailsuite.protocols.login.routing import HashRing, Router
from mailsuite.service import imap as imap_service
from mailsuite.service import listen
from mailsuite.service import pop3 as pop3_service
from mailsuite.service.context import ServiceContext
from mailsuite.service.login_handover import (
    imap_handover,
    imap_server_config,
    pop3_handover,
    pop3_server_config,
)

__all__ = ["build", "parse_networks"]

log = Logger()
_SECURITY = ("none", "starttls", "ssl")


def parse_networks(
    values: list[str], key: str
) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """``["10.0.0.0/8", "127.0.0.1"]`` -> networks; a bad entry stops start-up naming it."""
    out = []
    for i, value in enumerate(values):
        try:
            out.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError as e:
            raise ConfigError(f"{key}[{i}]: {e}") from None
    return out


def _check(settings: Settings) -> None:
    proxy = settings.proxy
    if proxy.backend_tls not in _SECURITY:
        raise ConfigError(
            f"[proxy] backend_tls: expected one of {', '.join(_SECURITY)},"
            f" got {proxy.backend_tls!r}"
        )
    for key in ("connect_timeout_s", "login_timeout_s"):
        if getattr(proxy, key) <= 0:
            raise ConfigError(f"[proxy] {key}: must be positive, got {getattr(proxy, key)}")
    if not 1 <= proxy.ttl <= 255:
        raise ConfigError(f"[proxy] ttl: must be 1..255, got {proxy.ttl}")
    for key in ("backend_imap_port", "backend_pop3_port"):
        if not 0 < getattr(proxy, key) < 65536:
            raise ConfigError(f"[proxy] {key}: not a port number: {getattr(proxy, key)}")
    for i, host in enumerate(proxy.backends):
        if not host.strip() or (":" in host and not host.startswith("[") and host.count(":") == 1):
            raise ConfigError(
                f"[proxy] backends[{i}]: expected a host name or address (ports come from"
                f" backend_imap_port/backend_pop3_port), got {host!r}"
            )
    if proxy.master_user and not proxy.master_password:
        raise ConfigError("[proxy] master_password: required when master_user is set")


def _frontend_config(ctx: ServiceContext, trusted: list[Any]) -> FrontendConfig:
    settings = ctx.settings
    proxy = settings.proxy
    router = Router(
        HashRing([b.strip().strip("[]") for b in proxy.backends]),
        {"imap": proxy.backend_imap_port, "pop3": proxy.backend_pop3_port},
        proxy.backend_tls,  # type: ignore[arg-type]
        proxy.backend_tls_verify,
    )
    own: set[tuple[str, int]] = set()
    for key in ("imap_listen", "imap_tls_listen", "pop3_listen", "pop3_tls_listen"):
        for i, value in enumerate(getattr(proxy, key)):
            own.add(listen.parse_listen(value, f"[proxy] {key}[{i}]"))
    return FrontendConfig(
        auth=ctx.auth,
        router=router,
        reactor=ctx.reactor,
        tls_options=ctx.tls_options,
        hostname=settings.server.hostname,
        preauth_timeout_s=settings.imap.preauth_timeout_s,
        connect_timeout_s=proxy.connect_timeout_s,
        login_timeout_s=proxy.login_timeout_s,
        master_user=proxy.master_user,
        master_password=proxy.master_password,
        master_separator=settings.auth.master_user_separator,
        send_proxy_protocol=proxy.send_proxy_protocol,
        ttl=proxy.ttl,
        trusted_networks=tuple(trusted),
        own_addresses=frozenset(own),
        local_names=frozenset(n.strip().strip("[]") for n in proxy.local_names),
        # Users served here continue in this process's IMAP/POP3 service.
        local_pop3=pop3_handover(pop3_server_config(ctx)),
        local_imap=imap_handover(imap_server_config(ctx)),
    )


def _listeners(
    ctx: ServiceContext, name: str, values: list[str], key: str, factory: Any, tls: bool
) -> list[Any]:
    services = []
    for i, value in enumerate(values):
        wrapped = TLSMemoryBIOFactory(ctx.tls_options, False, factory) if tls else factory
        # Binds, or adopts the master's socket when [server] workers > 1.
        svc = listen.tcp_service(ctx, value, f"[proxy] {key}[{i}]", wrapped, f"{name}:{value}")
        svc._raiseSynchronously = True  # a port in use stops start-up
        services.append(svc)
    return services


def _frontends(ctx: ServiceContext, trusted: list[Any]) -> list[Any]:
    proxy = ctx.settings.proxy
    config = _frontend_config(ctx, trusted)
    services: list[Any] = []
    pop3_plain = Pop3FrontendFactory(config)
    pop3_tls = Pop3FrontendFactory(dataclasses.replace(config, implicit_tls=True))
    services += _listeners(ctx, "pop3-login", proxy.pop3_listen, "pop3_listen", pop3_plain, False)
    services += _listeners(
        ctx, "pop3s-login", proxy.pop3_tls_listen, "pop3_tls_listen", pop3_tls, True
    )
    imap_plain = ImapFrontendFactory(config)
    imap_tls = ImapFrontendFactory(dataclasses.replace(config, implicit_tls=True))
    services += _listeners(ctx, "imap-login", proxy.imap_listen, "imap_listen", imap_plain, False)
    services += _listeners(
        ctx, "imaps-login", proxy.imap_tls_listen, "imap_tls_listen", imap_tls, True
    )
    log.info(
        "login: front end on IMAP {imap} / {imaps}, POP3 {pop3} / {pop3s}; {n} hashed backend(s)",
        imap=", ".join(proxy.imap_listen) or "-",
        imaps=", ".join(proxy.imap_tls_listen) or "-",
        pop3=", ".join(proxy.pop3_listen) or "-",
        pop3s=", ".join(proxy.pop3_tls_listen) or "-",
        n=len(proxy.backends),
    )
    return services


def _haproxy_listeners(ctx: ServiceContext, trusted: list[Any]) -> list[Any]:
    """The backend's own IMAP/POP3 services again, on ports that require a PROXY header."""
    settings = ctx.settings
    proxy = settings.proxy
    services: list[Any] = []
    if (proxy.haproxy_imap_listen or proxy.haproxy_pop3_listen) and not trusted:
        raise ConfigError(
            "[proxy] trusted_networks: must list the front ends when haproxy_*_listen is set"
        )
    plans = [
        ("pop3", proxy.haproxy_pop3_listen, pop3_service.build),
        ("imap", proxy.haproxy_imap_listen, imap_service.build),
    ]
    for proto, values, build in plans:
        if not values:
            continue
        section = getattr(settings, proto)
        only_these = dataclasses.replace(section, listen=list(values), tls_listen=[])
        sub_ctx = dataclasses.replace(
            ctx, settings=dataclasses.replace(settings, **{proto: only_these})
        )
        built: list[Any] = build(sub_ctx)
        for svc in built:
            svc.factory = ProxyHeaderFactory(svc.factory, trusted, ctx.reactor)
            svc.setName(f"{proto}-haproxy:{svc.name.split(':', 1)[-1]}")
            services.append(svc)
        log.info(
            "login: {proto} for front ends (PROXY v2 required) on {addrs}",
            proto=proto,
            addrs=", ".join(values),
        )
    return services


def build(ctx: ServiceContext) -> list[service.IService]:
    """Front-end listeners when ``[proxy] enabled``; PROXY-protocol backend listeners if set."""
    settings = ctx.settings
    proxy = settings.proxy
    trusted = parse_networks(proxy.trusted_networks, "[proxy] trusted_networks")
    services: list[Any] = []
    if proxy.haproxy_imap_listen or proxy.haproxy_pop3_listen:
        services += _haproxy_listeners(ctx, trusted)
    if not proxy.enabled:
        return services
    _check(settings)
    if ctx.auth is None:
        log.error("login: no auth service configured; front-end listeners not started")
        return services
    services += _frontends(ctx, trusted)
    return services
