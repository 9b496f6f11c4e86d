"""What the composition root hands to each protocol's service builder."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from twisted.internet import ssl
from twisted.internet.defer import Deferred

from mailsuite.config import Settings

__all__ = ["ServiceContext"]


@dataclass
class ServiceContext:
    settings: Settings
    reactor: Any
    # Runs a blocking callable in the thread pool: run_blocking(f, *args, **kw) -> Deferred.
    run_blocking: Callable[..., Deferred[Any]]
    tls_options: ssl.CertificateOptions
    auth: Any = None  # mailsuite.auth.interfaces.AuthService, once built
    changes: Any = None  # mailsuite.service.changes.ChangeHub, once built
    # mailsuite.service.listen.ListenerPlan when [server] workers > 1 (bind in the
    # master, adopt in a worker); None: listen normally. Builders pass ctx to
    # listen.tcp_service / listen.unix_service and need not look at it.
    listeners: Any = None
