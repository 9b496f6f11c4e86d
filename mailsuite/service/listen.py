"""One way for every protocol builder to listen: bind, or adopt an inherited socket.

With ``[server] workers = 1`` a builder's listener is an ordinary
``StreamServerEndpointService``. With several workers the master process binds
every listening socket itself (``ListenerPlan`` in bind mode, while it builds
the service tree once to learn the listeners and check the config), then hands
the file descriptors to its worker processes; each worker builds the same tree
with a plan in adopt mode and accepts on the inherited sockets
(``reactor.adoptStreamPort``). The kernel spreads incoming connections over
every process accepting on a socket, as with Dovecot's master.

Listeners are matched between master and worker by a key made of the config
key and value (``"[pop3] listen[0] 127.0.0.1:1110"``), so both sides build
from the same settings and agree without any numbering convention.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from typing import Any

from twisted.application import service
from twisted.application.internet import StreamServerEndpointService
from twisted.internet import error, tcp, unix
from twisted.internet.endpoints import (
    TCP4ServerEndpoint,
    TCP6ServerEndpoint,
    UNIXServerEndpoint,
)
from twisted.logger import Logger
from twisted.python.lockfile import FilesystemLock

from mailsuite.errors import ConfigError

__all__ = [
    "BACKLOG",
    "ListenerPlan",
    "AdoptedPortService",
    "listener_key",
    "parse_listen",
    "tcp_service",
    "unix_service",
]

log = Logger()

# Twisted's default listen backlog is 50; a login storm on several workers
# sharing one queue needs more room before the kernel starts refusing.
BACKLOG = 1024


def parse_listen(value: str, key: str) -> tuple[str, int]:
    """Split ``"host:port"``, ``"[v6]:port"`` or ``"*:port"`` into host and port.

    Raises:
        ConfigError: naming ``key`` and what is wrong with ``value``.
    """
    host, sep, port_text = value.rpartition(":")
    if not sep or not port_text.isdigit() or not host:
        raise ConfigError(f'{key}: expected "host:port", got {value!r}')
    port = int(port_text)
    if not 0 <= port <= 65535:
        raise ConfigError(f"{key}: port out of range in {value!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif host == "*":
        host = "0.0.0.0"
    if ":" in host and not value.startswith("["):
        raise ConfigError(f'{key}: write IPv6 addresses as "[addr]:port", got {value!r}')
    return host, port


def listener_key(config_key: str, value: str) -> str:
    """The name master and workers both give one configured listener."""
    return f"{config_key} {value}"


@dataclass
class ListenerPlan:
    """How listeners are made in a multi-process server.

    In bind mode (the master) ``tcp_service``/``unix_service`` bind the socket
    at once and record it in ``sockets``; the services they return do nothing,
    since the master never serves. In adopt mode (a worker) ``fds`` maps each
    listener key to an inherited descriptor that the returned service adopts
    when it starts.
    """

    bind: bool
    fds: dict[str, int] = field(default_factory=dict)
    sockets: dict[str, socket.socket] = field(default_factory=dict)
    unix_paths: list[str] = field(default_factory=list)
    locks: list[FilesystemLock] = field(default_factory=list)

    def close(self) -> None:
        """Master only: close every socket and remove the Unix socket files it made."""
        for sock in self.sockets.values():
            sock.close()
        self.sockets.clear()
        for path in self.unix_paths:
            try:
                os.unlink(path)
            except OSError:
                pass
        self.unix_paths.clear()
        for lock in self.locks:
            if lock.locked:
                lock.unlock()
        self.locks.clear()


class _AdoptedUnixPort(unix.Port):
    """A Unix listening port that leaves the socket file alone when it stops.

    Twisted's own port unlinks its path and shuts the socket down on close
    (only its TCP port spares adopted sockets that); the socket and its file
    belong to the master here and the sibling workers still accept on them.
    """

    _shouldShutdown = False

    def connectionLost(self, reason: Any) -> None:
        tcp.Port.connectionLost(self, reason)


class AdoptedPortService(service.Service):
    """Accepts on a listening socket inherited from the master process."""

    def __init__(self, reactor: Any, fd: int, factory: Any, name: str) -> None:
        self._reactor = reactor
        self._fd = fd
        self.factory = factory
        self.setName(name)
        self.port: Any = None  # the IListeningPort while running

    def startService(self) -> None:
        super().startService()
        probe = socket.socket(fileno=os.dup(self._fd))
        family = probe.family
        probe.close()
        if family == socket.AF_UNIX:
            port = _AdoptedUnixPort._fromListeningDescriptor(self._reactor, self._fd, self.factory)
            port.startListening()
            self.port = port
        else:
            self.port = self._reactor.adoptStreamPort(self._fd, family, self.factory)

    def stopService(self) -> Any:
        super().stopService()
        if self.port is not None:
            port, self.port = self.port, None
            return port.stopListening()
        return None


def _bind_tcp(host: str, port: int, value: str, config_key: str) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # As Twisted's own ports: restart without waiting for TIME_WAIT to clear.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # IPV6_V6ONLY is left at the system default, as Twisted leaves it in a
        # one-process server, so "[::]:143" means the same in both.
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError as e:
        sock.close()
        raise error.CannotListenError(host, port, f"{config_key} {value}: {e.strerror}") from None
    # adoptStreamPort needs a non-blocking socket; the flag lives on the open
    # file description, which every worker shares.
    sock.setblocking(False)
    return sock


def _bind_unix(path: str, mode: int, plan: ListenerPlan, config_key: str) -> socket.socket:
    # Same stale-socket rule as UNIXServerEndpoint(wantPID=True): a live lock
    # means another server owns the socket; a dead one means we may remove it.
    lock = FilesystemLock(path + ".lock")
    if not lock.lock():
        raise error.CannotListenError(
            None, path, f"{config_key}: socket in use by another running server"
        )
    plan.locks.append(lock)
    if not lock.clean and os.path.exists(path):  # broke a dead owner's lock
        os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
        os.chmod(path, mode)
        sock.listen(BACKLOG)
    except OSError as e:
        sock.close()
        raise error.CannotListenError(None, path, f"{config_key}: {e.strerror}") from None
    sock.setblocking(False)
    plan.unix_paths.append(path)
    return sock


def _adopted_or_missing(ctx: Any, key: str, factory: Any, name: str) -> service.Service:
    fd = ctx.listeners.fds.get(key)
    if fd is None:
        # The master's settings differ from ours (edited config, then a worker
        # restart): only the master can open new listeners.
        log.error(
            "listen: {key} was not opened by the master; restart the master to listen on it",
            key=key,
        )
        return _placeholder(name)
    return AdoptedPortService(ctx.reactor, fd, factory, name)


def _placeholder(name: str) -> service.Service:
    svc = service.Service()
    svc.setName(name)
    return svc


def tcp_service(ctx: Any, value: str, config_key: str, factory: Any, name: str) -> Any:
    """A service listening on ``value`` ("host:port") for ``factory``.

    Args:
        ctx: the ServiceContext; its ``listeners`` plan (None: one process).
        value: the configured address, e.g. ``"[::1]:143"``.
        config_key: where it came from, for errors, e.g. ``"[imap] listen[0]"``.
        factory: the protocol factory (already TLS-wrapped where needed).
        name: the service name.

    Returns:
        An IService: a ``StreamServerEndpointService`` (one process; it has
        ``_raiseSynchronously`` set so a port in use stops start-up), an
        ``AdoptedPortService`` (worker) or an inert placeholder (master).

    Raises:
        ConfigError: the address is malformed.
        CannotListenError: master only, the address cannot be bound.
    """
    host, port = parse_listen(value, config_key)
    plan: ListenerPlan | None = getattr(ctx, "listeners", None)
    key = listener_key(config_key, value)
    if plan is None:
        endpoint: Any
        if ":" in host:
            endpoint = TCP6ServerEndpoint(ctx.reactor, port, backlog=BACKLOG, interface=host)
        else:
            endpoint = TCP4ServerEndpoint(ctx.reactor, port, backlog=BACKLOG, interface=host)
        svc = StreamServerEndpointService(endpoint, factory)
        svc.setName(name)
        svc._raiseSynchronously = True  # a port in use stops start-up
        return svc
    if plan.bind:
        plan.sockets[key] = _bind_tcp(host, port, value, config_key)
        return _placeholder(name)
    return _adopted_or_missing(ctx, key, factory, name)


def unix_service(
    ctx: Any, path: str, config_key: str, factory: Any, name: str, mode: int = 0o660
) -> Any:
    """A service listening on the Unix socket ``path`` (already resolved) for ``factory``.

    Raises:
        CannotListenError: master only, the socket cannot be made.
    """
    plan: ListenerPlan | None = getattr(ctx, "listeners", None)
    key = listener_key(config_key, path)
    if plan is None:
        # wantPID: a lock file next to the socket lets a restart remove a stale socket.
        endpoint = UNIXServerEndpoint(ctx.reactor, path, backlog=BACKLOG, mode=mode, wantPID=True)
        svc = StreamServerEndpointService(endpoint, factory)
        svc.setName(name)
        svc._raiseSynchronously = True
        return svc
    if plan.bind:
        plan.sockets[key] = _bind_unix(path, mode, plan, config_key)
        return _placeholder(name)
    return _adopted_or_missing(ctx, key, factory, name)
