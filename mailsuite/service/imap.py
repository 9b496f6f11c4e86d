"""IMAP listeners: ``[imap] listen`` (STARTTLS offered) and ``[imap] tls_listen`` (IMAPS)."""

from __future__ import annotations

import os
from typing import Any

from twisted.application import service
from twisted.logger import Logger
from twisted.protocols.tls import TLSMemoryBIOFactory

from mailsuite.config import Settings
from mailsuite.config.load import resolve_path
from mailsuite.errors import ConfigError
from mailsuite.protocols.imap.server import ImapFactory, ServerConfig
from mailsuite.protocols.imap.spool import AppendSpool
from mailsuite.service import listen
from mailsuite.service.context import ServiceContext

__all__ = ["append_spool", "build"]

log = Logger()


def _check(settings: Any) -> None:
    imap = settings.imap
    # RFC 3501 5.4: the autologout timer after login is at least 30 minutes.
    if imap.idle_timeout_s < 30 * 60:
        raise ConfigError(
            "[imap] idle_timeout_s: must be at least 1800 (RFC 3501 5.4),"
            f" got {imap.idle_timeout_s}"
        )
    if imap.preauth_timeout_s <= 0:
        raise ConfigError(
            f"[imap] preauth_timeout_s: must be positive, got {imap.preauth_timeout_s}"
        )
    if imap.max_line_bytes < 1024:
        raise ConfigError(
            f"[imap] max_line_bytes: must be at least 1024, got {imap.max_line_bytes}"
        )
    if imap.max_literal_bytes < 1024:
        raise ConfigError(
            f"[imap] max_literal_bytes: must be at least 1024, got {imap.max_literal_bytes}"
        )
    if imap.append_memory_bytes < 0:
        raise ConfigError(
            f"[imap] append_memory_bytes: must not be negative, got {imap.append_memory_bytes}"
        )


def append_spool(settings: Settings) -> AppendSpool:
    """The spool for large APPEND messages: ``[server] state_dir``/imap-spool, made 0700.

    Raises:
        ConfigError: the directory cannot be made (start-up stops, naming it).
    """
    directory = resolve_path(settings, os.path.join(settings.server.state_dir, "imap-spool"))
    spool = AppendSpool(directory, settings.imap.append_memory_bytes)
    try:
        for path in spool.prepare():
            log.info("imap: removed stale APPEND spool file {path}", path=path)
    except OSError as e:
        raise ConfigError(
            f"[server] state_dir: cannot create the IMAP spool directory {directory}:"
            f" {e.strerror or e}"
        ) from None
    return spool


def build(ctx: ServiceContext) -> list[service.IService]:
    """One listening service per ``[imap] listen`` and ``tls_listen`` address."""
    settings = ctx.settings
    imap = settings.imap
    _check(settings)
    if not imap.listen and not imap.tls_listen:
        return []
    if ctx.auth is None:
        log.error("imap: no auth service configured; IMAP listeners not started")
        return []
    common: dict[str, Any] = {
        "auth": ctx.auth,
        "run_blocking": ctx.run_blocking,
        "changes": ctx.changes,
        "tls_options": ctx.tls_options,
        "idle_timeout_s": imap.idle_timeout_s,
        "preauth_timeout_s": imap.preauth_timeout_s,
        "max_line_bytes": imap.max_line_bytes,
        "max_literal_bytes": imap.max_literal_bytes,
        "hostname": settings.server.hostname,
        "append_spool": append_spool(settings),
    }
    plain = ImapFactory(ServerConfig(implicit_tls=False, **common))
    tls = ImapFactory(ServerConfig(implicit_tls=True, **common))
    services: list[Any] = []
    # listen.tcp_service binds, or adopts the master's socket when [server] workers > 1.
    for i, value in enumerate(imap.listen):
        key = f"[imap] listen[{i}]"
        services.append(listen.tcp_service(ctx, value, key, plain, f"imap:{value}"))
    for i, value in enumerate(imap.tls_listen):
        key = f"[imap] tls_listen[{i}]"
        wrapped: Any = TLSMemoryBIOFactory(ctx.tls_options, False, tls)
        services.append(listen.tcp_service(ctx, value, key, wrapped, f"imaps:{value}"))
    for svc in services:
        # A port already in use must stop start-up, not be logged and ignored.
        svc._raiseSynchronously = True
    return services
