"""The composition root: settings in, one MultiService with every listener out.

Only this package (and twisted/plugins) touches the reactor or reads settings
to build things; everything it wires is handed its dependencies explicitly.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from twisted.application import service
from twisted.internet import reactor as global_reactor
from twisted.logger import Logger

from mailsuite.auth.factory import build_auth_service
from mailsuite.auth.interfaces import UserRecord
from mailsuite.config import Settings, resolve_path
from mailsuite.errors import ConfigError
from mailsuite.service import imap as imap_service
from mailsuite.service import lmtp as lmtp_service
from mailsuite.service import login as login_service
from mailsuite.service import pop3 as pop3_service
from mailsuite.service.blocking import BlockingPool
from mailsuite.service.changes import ChangeHub
from mailsuite.service.context import ServiceContext
from mailsuite.service.logpipe import COMPOSE_READY, READY_KEY
from mailsuite.service.tls import server_tls_options
from mailsuite.store.api import ChangeNotifier, MailStore
from mailsuite.store.maildir import open_user_store

__all__ = ["build_root_service", "PROTOCOL_BUILDERS"]

log = Logger()

MAX_THREAD_POOL_SIZE = 256

# Each protocol contributes a builder: ServiceContext -> list of services.
PROTOCOL_BUILDERS: list[Callable[[ServiceContext], list[service.IService]]] = [
    pop3_service.build,
    lmtp_service.build,
    imap_service.build,
    login_service.build,
]


class ThreadPoolService(service.Service):
    """Starts and stops the thread pool that blocking store and database work runs in."""

    def __init__(self, pool: BlockingPool) -> None:
        self.pool = pool

    def startService(self) -> None:
        super().startService()
        self.pool.start()

    def stopService(self) -> None:
        super().stopService()
        self.pool.stop()


class ReadyService(service.Service):
    """Added last: logs once every listener is up, so admins and tests know it is serving."""

    def __init__(self, reactor: Any) -> None:
        self._reactor = reactor

    def startService(self) -> None:
        super().startService()
        # READY_KEY: logged whatever [log] level says (logpipe.level_passes).
        self._reactor.callWhenRunning(log.info, COMPOSE_READY, **{READY_KEY: True})


def make_store_factory(
    settings: Settings, notifier: ChangeNotifier | None
) -> Callable[[UserRecord], MailStore]:
    """userdb record -> the user's Maildir store, with limits from userdb or [quota]."""
    store_log = Logger(namespace="mailsuite.store")

    def log_store_event(message: str) -> None:
        store_log.warn("{message}", message=message)

    def open_store(record: UserRecord) -> MailStore:
        return open_user_store(
            resolve_path(settings, record.mail),
            user=record.username,
            quota_storage_bytes=record.quota_storage_bytes or settings.quota.storage_bytes,
            quota_messages=record.quota_messages or settings.quota.messages,
            special_use=settings.mail.special_use,
            notifier=notifier,
            fsync=settings.mail.fsync,
            log=log_store_event,
        )

    return open_store


def build_root_service(
    settings: Settings, reactor: Any = None, *, listeners: Any = None
) -> service.MultiService:
    """The whole server; ``listeners`` is a ``listen.ListenerPlan`` in a multi-process server."""
    reactor = reactor or global_reactor
    if listeners is None and settings.server.workers != 1:
        # [server] workers > 1: this process becomes the master (mailsuite.service.workers).
        from mailsuite.service.workers import build_master_service

        return build_master_service(settings, reactor)
    root = service.MultiService()
    for directory in (settings.server.state_dir,):
        os.makedirs(resolve_path(settings, directory), exist_ok=True)

    size = settings.server.thread_pool_size
    if not 1 <= size <= MAX_THREAD_POOL_SIZE:
        raise ConfigError(
            f"[server] thread_pool_size: must be 1 to {MAX_THREAD_POOL_SIZE}, got {size}"
        )
    pool = BlockingPool(reactor, size)
    ThreadPoolService(pool).setServiceParent(root)
    run_blocking = pool.run

    # The master builds the tree only to bind its sockets: no inotify instance there.
    changes = ChangeHub(reactor, use_inotify=listeners is None or not listeners.bind)
    ctx = ServiceContext(
        settings=settings,
        reactor=reactor,
        run_blocking=run_blocking,
        tls_options=server_tls_options(settings),
        changes=changes,
        listeners=listeners,
    )
    ctx.auth = build_auth_service(
        settings,
        reactor=reactor,
        run_blocking=run_blocking,
        store_factory=make_store_factory(settings, changes),
    )
    for build in PROTOCOL_BUILDERS:
        for child in build(ctx):
            child.setServiceParent(root)
    ReadyService(reactor).setServiceParent(root)
    log.info("mailsuite: configured from {base}", base=settings.base_dir)
    return root
