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
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.threadpool import ThreadPool

from mailsuite.config import Settings, resolve_path
from mailsuite.service.changes import ChangeHub
from mailsuite.service.context import ServiceContext
from mailsuite.service.tls import server_tls_options

__all__ = ["build_root_service", "PROTOCOL_BUILDERS"]

log = Logger()

# Each protocol contributes a builder: ServiceContext -> list of services.
PROTOCOL_BUILDERS: list[Callable[[ServiceContext], list[service.IService]]] = []


class ThreadPoolService(service.Service):
    """Starts and stops the thread pool that blocking store and database work runs in."""

    def __init__(self, pool: ThreadPool) -> None:
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
        self._reactor.callWhenRunning(log.info, "mailsuite: ready")


def build_root_service(settings: Settings, reactor: Any = None) -> service.MultiService:
    reactor = reactor or global_reactor
    root = service.MultiService()
    for directory in (settings.server.state_dir,):
        os.makedirs(resolve_path(settings, directory), exist_ok=True)

    pool = ThreadPool(minthreads=2, maxthreads=settings.server.thread_pool_size, name="mailsuite")
    ThreadPoolService(pool).setServiceParent(root)

    def run_blocking(f: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return deferToThreadPool(reactor, pool, f, *args, **kwargs)

    changes = ChangeHub(reactor)
    ctx = ServiceContext(
        settings=settings,
        reactor=reactor,
        run_blocking=run_blocking,
        tls_options=server_tls_options(settings),
        changes=changes,
    )
    for build in PROTOCOL_BUILDERS:
        for child in build(ctx):
            child.setServiceParent(root)
    ReadyService(reactor).setServiceParent(root)
    log.info("mailsuite: configured from {base}", base=settings.base_dir)
    return root
