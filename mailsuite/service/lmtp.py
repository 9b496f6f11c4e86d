"""LMTP listeners: TCP from ``[lmtp] listen`` and the Unix socket ``[lmtp] socket``.

Wires the LMTP session to the real backend: userdb lookups through
``ctx.auth``, delivery in the thread pool, Sieve scripts from the shared
cache, vacation memory under ``[server] state_dir`` and the SMTP relay for
redirect and vacation.
"""

from __future__ import annotations

import os
import time
from typing import Any

from twisted.application import service
from twisted.logger import Logger

from mailsuite.config import Settings, resolve_path
from mailsuite.delivery.deliver import DeliveryOptions
from mailsuite.delivery.scripts import ScriptSource
from mailsuite.delivery.vacation import VacationMemory
from mailsuite.errors import ConfigError
from mailsuite.protocols.lmtp.backend import DeliveryBackend
from mailsuite.protocols.lmtp.relay import RelaySender, parse_relay
from mailsuite.protocols.lmtp.server import LmtpFactory
from mailsuite.protocols.lmtp.session import LmtpSession
from mailsuite.service import listen
from mailsuite.service.context import ServiceContext

__all__ = ["build", "delivery_options"]

log = Logger()


STALE_SPOOL_S = 24 * 3600.0  # a spool file this old outlived the process that made it


def _remove_stale_spools(spool_dir: str) -> None:
    """Drop bodies left by a crash; young files may belong to a live sibling process."""
    now = time.time()
    try:
        names = os.listdir(spool_dir)
    except OSError:
        return
    for name in names:
        if not name.startswith("mailsuite-spool-"):
            continue
        path = os.path.join(spool_dir, name)
        try:
            if now - os.stat(path).st_mtime > STALE_SPOOL_S:
                os.unlink(path)
                log.info("lmtp: removed stale spool file {path}", path=path)
        except OSError:
            continue


def delivery_options(settings: Settings) -> DeliveryOptions:
    """The delivery policy from ``[lmtp]``, ``[sieve]`` and ``[server]`` (shared with the CLI)."""
    from mailsuite.sieve import EvalOptions

    lmtp = settings.lmtp
    if not lmtp.recipient_delimiter.strip():
        raise ConfigError("[lmtp] recipient_delimiter: must not be empty or blank")
    state_dir = resolve_path(settings, settings.server.state_dir)
    return DeliveryOptions(
        hostname=settings.server.hostname,
        recipient_delimiter=lmtp.recipient_delimiter,
        detail_as_folder=lmtp.detail_as_folder,
        quota_full_tempfail=lmtp.quota_full_tempfail,
        sieve_options=EvalOptions.from_settings(settings.sieve),
        vacation=VacationMemory(state_dir),
    )


def build(ctx: ServiceContext) -> list[service.IService]:
    """One listening service per ``[lmtp] listen`` address, plus the Unix socket."""
    settings = ctx.settings
    lmtp = settings.lmtp
    if lmtp.max_message_bytes <= 0:
        raise ConfigError(
            f"[lmtp] max_message_bytes: must be positive, got {lmtp.max_message_bytes}"
        )
    if lmtp.max_recipients <= 0:
        raise ConfigError(f"[lmtp] max_recipients: must be positive, got {lmtp.max_recipients}")
    if not lmtp.listen and not lmtp.socket:
        return []
    if ctx.auth is None:
        log.error("lmtp: no auth service configured; LMTP listeners not started")
        return []
    options = delivery_options(settings)
    host, port = parse_relay(settings.sieve.relay)
    spool_dir = resolve_path(settings, os.path.join(settings.server.state_dir, "lmtp-spool"))
    os.makedirs(spool_dir, exist_ok=True)
    _remove_stale_spools(spool_dir)
    backend = DeliveryBackend(
        auth=ctx.auth,
        run_blocking=ctx.run_blocking,
        options=options,
        domain_fallback=lmtp.domain_fallback,
        scripts=ScriptSource(settings.sieve, lambda p: resolve_path(settings, p)),
        send=RelaySender(ctx.reactor, host, port, settings.server.hostname),
        spool_dir=spool_dir,
    )

    def make_session(sid: str, remote_ip: str) -> LmtpSession:
        return LmtpSession(
            backend,
            hostname=settings.server.hostname,
            max_message_bytes=lmtp.max_message_bytes,
            max_recipients=lmtp.max_recipients,
            vrfy=lmtp.vrfy,
            session_id=sid,
            remote_ip=remote_ip,
        )

    factory = LmtpFactory(
        make_session,
        max_line_bytes=lmtp.max_line_bytes,
        timeout_s=lmtp.timeout_s,
        debug_protocol=settings.log.debug_protocol,
    )
    services: list[Any] = []
    # listen.* binds, or adopts the master's socket when [server] workers > 1.
    for i, value in enumerate(lmtp.listen):
        key = f"[lmtp] listen[{i}]"
        services.append(listen.tcp_service(ctx, value, key, factory, f"lmtp:{value}"))
    if lmtp.socket:
        path = resolve_path(settings, lmtp.socket)
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        services.append(
            listen.unix_service(
                ctx, path, "[lmtp] socket", factory, f"lmtp:unix:{path}", lmtp.socket_mode
            )
        )
    for svc in services:
        # A port already in use must stop start-up, not be logged and ignored.
        svc._raiseSynchronously = True
    return services
