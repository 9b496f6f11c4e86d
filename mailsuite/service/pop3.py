"""POP3 listeners: plain (STLS offered) from ``[pop3] listen``, POP3S from ``[pop3] tls_listen``."""

from __future__ import annotations

from typing import Any

from twisted.application import service
from twisted.logger import Logger
from twisted.protocols.tls import TLSMemoryBIOFactory

from mailsuite.errors import ConfigError
from mailsuite.protocols.pop3.server import Pop3Factory, ServerConfig
from mailsuite.protocols.pop3.session import SessionConfig
from mailsuite.protocols.pop3.uidl import compile_uidl_format
from mailsuite.service import listen
from mailsuite.service.context import ServiceContext

__all__ = ["build"]

log = Logger()


def build(ctx: ServiceContext) -> list[service.IService]:
    """One listening service per ``[pop3] listen`` and ``tls_listen`` address."""
    settings = ctx.settings
    pop3 = settings.pop3
    try:
        uidl_format = compile_uidl_format(settings.mail.pop3_uidl_format)
    except ValueError as e:
        raise ConfigError(f"[mail] pop3_uidl_format: {e}") from None
    if pop3.timeout_s <= 0:
        raise ConfigError(f"[pop3] timeout_s: must be positive, got {pop3.timeout_s}")
    if not pop3.listen and not pop3.tls_listen:
        return []
    if ctx.auth is None:
        log.error("pop3: no auth service configured; POP3 listeners not started")
        return []
    session = SessionConfig(
        uidl_format=uidl_format,
        retr_marks_seen=pop3.retr_marks_seen,
    )
    common = {
        "auth": ctx.auth,
        "run_blocking": ctx.run_blocking,
        "session": session,
        "tls_options": ctx.tls_options,
        "timeout_s": pop3.timeout_s,
    }
    plain = Pop3Factory(ServerConfig(implicit_tls=False, **common))
    tls = Pop3Factory(ServerConfig(implicit_tls=True, **common))
    services: list[Any] = []
    # listen.tcp_service binds, or adopts the master's socket when [server] workers > 1.
    for i, value in enumerate(pop3.listen):
        key = f"[pop3] listen[{i}]"
        services.append(listen.tcp_service(ctx, value, key, plain, f"pop3:{value}"))
    for i, value in enumerate(pop3.tls_listen):
        key = f"[pop3] tls_listen[{i}]"
        wrapped = TLSMemoryBIOFactory(ctx.tls_options, False, tls)
        services.append(listen.tcp_service(ctx, value, key, wrapped, f"pop3s:{value}"))
    log.info(
        "pop3: listening on {plain} (STLS), {tls} (implicit TLS)",
        plain=", ".join(pop3.listen) or "-",
        tls=", ".join(pop3.tls_listen) or "-",
    )
    for svc in services:
        # A port already in use must stop start-up, not be logged and ignored.
        svc._raiseSynchronously = True
    return services
