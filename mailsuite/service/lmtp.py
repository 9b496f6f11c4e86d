"""LMTP listeners: TCP from ``[lmtp] listen`` and the Unix socket ``[lmtp] socket``.

Wires the LMTP session to the real backend: userdb lookups through
``ctx.auth``, delivery in LMTP's own thread pool (``[lmtp] delivery_threads``:
a copy mostly waits on fsync, and must not queue the other services' short
store calls), users' stores and INBOX handles kept open between deliveries
(swept when idle), Sieve scripts from the shared cache, vacation memory under
``[server] state_dir`` and the SMTP relay for redirect and vacation.
"""

from __future__ import annotations

import os
import time
from typing import Any

from twisted.application import service
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from mailsuite.config import Settings, resolve_path
from mailsuite.delivery.deliver import DeliveryOptions
from mailsuite.delivery.handles import HandleCache
from mailsuite.delivery.scripts import ScriptSource
from mailsuite.delivery.vacation import VacationMemory
from mailsuite.errors import ConfigError
from mailsuite.protocols.lmtp.backend import DeliveryBackend
from mailsuite.protocols.lmtp.relay import RelaySender, parse_relay
from mailsuite.protocols.lmtp.server import LmtpFactory
from mailsuite.protocols.lmtp.session import LmtpSession
from mailsuite.service import listen
from mailsuite.service.blocking import BlockingPool
from mailsuite.service.context import ServiceContext

__all__ = ["build", "delivery_options"]

log = Logger()


STALE_SPOOL_S = 24 * 3600.0  # a spool file this old outlived the process that made it
HANDLE_SWEEP_S = 1.0  # how often idle delivery handles are looked at


class DeliveryPoolService(service.Service):
    """Runs LMTP's own delivery threads: started before the listeners, stopped after them.

    Stopping lets the copies already queued finish, so no accepted message is
    left half stored.
    """

    def __init__(self, pool: BlockingPool) -> None:
        self.pool = pool

    def startService(self) -> None:
        super().startService()
        self.pool.start()

    def stopService(self) -> Any:
        super().stopService()
        self.pool.stop()


class HandleSweeper(service.Service):
    """Closes the delivery handles of users idle for a while, and all of them at stop.

    The sweep closes mailboxes (index writes), so it runs in the thread pool.
    """

    def __init__(self, ctx: ServiceContext, handles: HandleCache, run_blocking: Any = None) -> None:
        self._ctx = ctx
        self._handles = handles
        self._run_blocking = run_blocking or ctx.run_blocking
        self._loop = LoopingCall(self._sweep)
        self._loop.clock = ctx.reactor
        self._running_sweep = False

    def _sweep(self) -> None:
        if self._running_sweep or not len(self._handles):
            return
        self._running_sweep = True

        def done(result: object) -> None:
            self._running_sweep = False

        d = self._run_blocking(self._handles.sweep)
        d.addErrback(lambda f: log.failure("lmtp: closing idle delivery handles failed", f))
        d.addBoth(done)

    def startService(self) -> None:
        super().startService()
        self._loop.start(HANDLE_SWEEP_S, now=False)

    def stopService(self) -> Any:
        if self._loop.running:
            self._loop.stop()
        self._handles.close()
        return super().stopService()


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
    if not lmtp.user_cache_s >= 0:
        raise ConfigError(f"[lmtp] user_cache_s: must be 0 or more, got {lmtp.user_cache_s}")
    if lmtp.delivery_threads <= 0:
        raise ConfigError(f"[lmtp] delivery_threads: must be positive, got {lmtp.delivery_threads}")
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
    auth = ctx.auth
    handles = HandleCache(lambda record: auth.open_store(record))
    pool = BlockingPool(ctx.reactor, lmtp.delivery_threads, name="lmtp")
    backend = DeliveryBackend(
        auth=ctx.auth,
        handles=handles,
        user_cache_s=lmtp.user_cache_s,
        run_blocking=pool.run,
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
            run_blocking=pool.run,
        )

    factory = LmtpFactory(
        make_session,
        max_line_bytes=lmtp.max_line_bytes,
        timeout_s=lmtp.timeout_s,
        debug_protocol=settings.log.debug_protocol,
    )
    services: list[Any] = [DeliveryPoolService(pool)]
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
    for svc in services[1:]:
        # A port already in use must stop start-up, not be logged and ignored.
        svc._raiseSynchronously = True
    services.append(HandleSweeper(ctx, handles, pool.run))
    return services
