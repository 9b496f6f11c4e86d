"""``[server] workers = N``: a master process supervising N server processes.

The Dovecot master idea, the plain Unix way. The master (the ``twistd``
process) builds the whole service tree once, which checks the config and binds
every listening socket (``listen.ListenerPlan`` in bind mode), then discards
that tree: it serves no client itself. It starts N workers
(``mailsuite.service.worker_main``) with ``spawnProcess``, handing each the
listening sockets as inherited descriptors; every worker builds the same tree
and accepts on them, and the kernel spreads connections over the processes.

Why the master does not serve too: a protocol bug that crashes or wedges a
worker never takes the supervisor (and the sockets) with it, the N workers are
equal so the kernel's spreading is even, and the master stays small and idle,
ready to restart a worker at once. One extra mostly idle process is the price.

Per worker the master keeps three pipes: the worker's stdin carries the
settings (so no secret ever appears in ``ps``) and then stays open as the
worker's lifeline (EOF: the master is gone, the worker stops, so even a
SIGKILLed master leaves no orphans); stdout carries the worker's log events
(``logpipe``: one small JSON record per line, at ``[log] level`` and above),
re-emitted here with the worker's pid so one log names every process;
stderr carries anything printed before logging started.

A worker that dies is restarted (after 0.5 s, doubling up to 60 s while it keeps
dying young) and logged as Dovecot does:
``master: service(mailsuite): child 1234 killed with signal 9 (restarting)``.
SIGTERM/SIGINT (twistd's stop) stop the workers with SIGTERM, then SIGKILL
after ``STOP_TIMEOUT_S``. SIGHUP restarts the workers one at a time (new code
after an upgrade, fresh per-process auth caches; the master's settings and
sockets stay): once a replacement is ready, its predecessor is told to drain
(``drain`` on its stdin: stop accepting, let open sessions end, at most
``DRAIN_MAX_S``, then exit).
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

from twisted.application import service
from twisted.internet import defer, error
from twisted.internet.protocol import ProcessProtocol
from twisted.logger import Logger, globalLogPublisher
from twisted.python.failure import Failure

from mailsuite.config import Settings
from mailsuite.errors import ConfigError
from mailsuite.service.listen import ListenerPlan
from mailsuite.service.logpipe import READY_KEY, decode_line, parse_level
from mailsuite.service.worker_main import DRAIN_MAX_S

__all__ = [
    "MAX_WORKERS",
    "WorkerSupervisor",
    "build_master_service",
    "describe_exit",
    "settings_to_json",
]

log = Logger(namespace="mailsuite.master")

MAX_WORKERS = 256
RESTART_MIN_S = 0.5  # first restart delay: other workers keep serving meanwhile
RESTART_MAX_S = 60.0  # cap of the doubling delay while a worker keeps dying young
STABLE_AFTER_S = 30.0  # a worker that lived this long resets the back-off
STOP_TIMEOUT_S = 10.0  # SIGTERM, then SIGKILL after this long
MAX_LOG_LINE_BYTES = 1024 * 1024  # a longer line without newline is passed on raw
FIRST_INHERITED_FD = 3  # 0 settings/lifeline, 1 log events, 2 stderr


def settings_to_json(settings: Settings) -> bytes:
    """The settings as one JSON line, to rebuild with ``settings_from_mapping``."""
    raw = dataclasses.asdict(settings)
    return json.dumps(raw, separators=(",", ":")).encode() + b"\n"


def describe_exit(pid: int, reason: Failure) -> str:
    """Dovecot's wording for how a child ended."""
    value = reason.value
    sig = getattr(value, "signal", None)
    code = getattr(value, "exitCode", None)
    if sig is not None:
        return f"child {pid} killed with signal {sig}"
    if code:
        return f"child {pid} returned error {code}"
    return f"child {pid} exited"


@dataclasses.dataclass(eq=False)
class _Worker:
    slot: int
    protocol: _WorkerProtocol
    started_at: float
    pid: int = 0
    ready: bool = False
    retiring: bool = False  # replaced on SIGHUP: no restart when it ends
    predecessor: _Worker | None = None  # SIGHUP: stopped once this one is ready


class _WorkerProtocol(ProcessProtocol):
    """One worker's pipes: settings and lifeline in, log events and stderr out."""

    def __init__(self, supervisor: WorkerSupervisor, settings_line: bytes) -> None:
        self._supervisor = supervisor
        self._settings_line = settings_line
        self._buffers: dict[int, bytes] = {1: b"", 2: b""}
        self.worker: _Worker | None = None

    def connectionMade(self) -> None:
        # Stdin stays open after this: its EOF tells the worker the master is gone.
        transport: Any = self.transport
        transport.write(self._settings_line)

    def childDataReceived(self, childFD: int, data: bytes) -> None:
        buf = self._buffers.get(childFD, b"") + data
        *lines, rest = buf.split(b"\n")
        if len(rest) > MAX_LOG_LINE_BYTES:
            lines.append(rest)
            rest = b""
        self._buffers[childFD] = rest
        for line in lines:
            if childFD == 1:
                self._supervisor.relay_event(self, line)
            elif line.strip():
                self._supervisor.relay_stderr(self, line)

    def processEnded(self, reason: Failure) -> None:
        for fd in (1, 2):
            if self._buffers.get(fd):
                self.childDataReceived(fd, b"\n")
        self._supervisor.worker_ended(self, reason)


class WorkerSupervisor(service.Service):
    """Starts, restarts and stops the worker processes."""

    def __init__(
        self,
        settings: Settings,
        reactor: Any,
        plan: ListenerPlan,
        count: int,
        *,
        publish: Callable[[dict[str, Any]], None] | None = None,
        argv: list[str] | None = None,
    ) -> None:
        self._settings = settings
        self._reactor = reactor
        self._plan = plan
        self.count = count
        self._publish = publish or globalLogPublisher
        self._argv = argv or [
            sys.executable,
            "-c",
            "from mailsuite.service.worker_main import main; main()",
        ]
        self._settings_line = settings_to_json(settings)
        self.workers: dict[int, _Worker] = {}  # live processes by pid
        self._slots: dict[int, _Worker] = {}  # the current worker of each slot
        self._failures: dict[int, int] = {}  # quick deaths in a row, per slot
        self._pending: dict[int, Any] = {}  # slot -> delayed restart
        self._announced = False
        self._stopping = False
        self._stopped: defer.Deferred[None] | None = None
        self._reload_queue: list[int] = []
        self._old_sighup: Any = None

    # -- lifecycle ------------------------------------------------------------
    def startService(self) -> None:
        super().startService()
        log.info(
            "master: starting {n} worker processes on {k} listeners",
            n=self.count,
            k=len(self._plan.sockets),
        )
        for slot in range(self.count):
            self._spawn(slot)
        try:
            self._old_sighup = signal.signal(signal.SIGHUP, self._on_sighup)
        except ValueError:  # not the main thread (tests driving the service)
            self._old_sighup = None

    def stopService(self) -> defer.Deferred[None]:
        super().stopService()
        self._stopping = True
        if self._old_sighup is not None:
            signal.signal(signal.SIGHUP, self._old_sighup)
            self._old_sighup = None
        for call in self._pending.values():
            if call.active():
                call.cancel()
        self._pending.clear()
        self._stopped = defer.Deferred()
        if not self.workers:
            self._finish_stop()
            return self._stopped
        log.info("master: stopping {n} worker processes", n=len(self.workers))
        for worker in list(self.workers.values()):
            self._signal(worker, "TERM")
        kill_call = self._reactor.callLater(STOP_TIMEOUT_S, self._kill_stragglers)

        def cancel_kill(result: object) -> object:
            if kill_call.active():
                kill_call.cancel()
            return result

        self._stopped.addBoth(cancel_kill)
        return self._stopped

    def _kill_stragglers(self) -> None:
        for worker in list(self.workers.values()):
            log.warn(
                "master: service(mailsuite): child {pid} did not stop in {s}s; killing it",
                pid=worker.pid,
                s=STOP_TIMEOUT_S,
            )
            self._signal(worker, "KILL")

    def _finish_stop(self) -> None:
        self._plan.close()
        log.info("master: all worker processes stopped")
        if self._stopped is not None and not self._stopped.called:
            self._stopped.callback(None)

    # -- processes ------------------------------------------------------------
    def _spawn(self, slot: int) -> None:
        pending = self._pending.pop(slot, None)
        if pending is not None and pending.active():  # SIGHUP came before a delayed restart
            pending.cancel()
        if self._stopping:
            return
        child_fds: dict[int, Any] = {0: "w", 1: "r", 2: "r"}
        inherited: dict[str, int] = {}
        for n, (key, sock) in enumerate(sorted(self._plan.sockets.items())):
            child_fds[FIRST_INHERITED_FD + n] = sock.fileno()
            inherited[key] = FIRST_INHERITED_FD + n
        args = [*self._argv, "--slot", str(slot), "--listeners", json.dumps(inherited)]
        protocol = _WorkerProtocol(self, self._settings_line)
        worker = _Worker(slot=slot, protocol=protocol, started_at=self._reactor.seconds())
        previous = self._slots.get(slot)
        if previous is not None:
            # A SIGHUP replacement (or its restart, should it die young) stops
            # the retiring worker only once it is ready itself.
            if previous.retiring and previous.pid in self.workers:
                worker.predecessor = previous
            else:
                worker.predecessor = previous.predecessor
        protocol.worker = worker
        try:
            transport = self._reactor.spawnProcess(
                protocol,
                self._argv[0],
                args,
                env=dict(os.environ),
                path=os.getcwd(),
                childFDs=child_fds,
            )
        except OSError as e:
            log.error("master: service(mailsuite): fork() failed: {why} (retrying)", why=e.strerror)
            self._schedule_restart(slot)
            return
        worker.pid = transport.pid
        self.workers[worker.pid] = worker
        self._slots[slot] = worker
        log.info(
            "master: service(mailsuite): started child {pid} (worker {slot})",
            pid=worker.pid,
            slot=slot,
        )

    def _drain(self, worker: _Worker) -> None:
        """Ask a retiring worker to stop accepting and exit once its sessions end."""
        transport: Any = worker.protocol.transport
        try:
            transport.write(b"drain\n")
        except Exception:  # its stdin is gone: it is exiting anyway
            self._signal(worker, "TERM")
            return

        def overdue() -> None:
            if worker.pid in self.workers:
                self._signal(worker, "TERM")

        self._reactor.callLater(DRAIN_MAX_S + STOP_TIMEOUT_S, overdue)

    def _signal(self, worker: _Worker, name: str) -> None:
        try:
            transport: Any = worker.protocol.transport
            transport.signalProcess(name)
        except error.ProcessExitedAlready:
            pass

    def worker_ended(self, protocol: _WorkerProtocol, reason: Failure) -> None:
        worker = protocol.worker
        if worker is None:
            return
        self.workers.pop(worker.pid, None)
        what = describe_exit(worker.pid, reason)
        if self._stopping:
            log.info("master: service(mailsuite): {what}", what=what)
            if not self.workers:
                self._finish_stop()
            return
        if worker.retiring:
            log.info("master: service(mailsuite): {what} (replaced on SIGHUP)", what=what)
            return
        if self._slots.get(worker.slot) is not worker:
            return
        log.error("master: service(mailsuite): {what} (restarting)", what=what)
        lived = self._reactor.seconds() - worker.started_at
        if lived >= STABLE_AFTER_S:
            self._failures[worker.slot] = 0
        self._schedule_restart(worker.slot)

    def _schedule_restart(self, slot: int) -> None:
        failures = self._failures.get(slot, 0)
        delay = min(RESTART_MIN_S * (2**failures), RESTART_MAX_S)
        self._failures[slot] = failures + 1
        if delay > RESTART_MIN_S:
            log.warn(
                "master: service(mailsuite): worker {slot} keeps dying; throttling for {s}s",
                slot=slot,
                s=delay,
            )
        self._pending[slot] = self._reactor.callLater(delay, self._spawn, slot)

    # -- SIGHUP: rolling restart ------------------------------------------------
    def _on_sighup(self, signum: int, frame: Any) -> None:
        self._reactor.callFromThread(self.restart_workers)

    def restart_workers(self) -> None:
        """Replace every worker in turn; each replacement is ready before its predecessor stops."""
        if self._stopping or self._reload_queue:
            return
        log.info("master: SIGHUP received; restarting {n} worker processes", n=self.count)
        self._reload_queue = sorted(self._slots)
        self._reload_next()

    def _reload_next(self) -> None:
        if not self._reload_queue or self._stopping:
            return
        slot = self._reload_queue[0]
        old = self._slots.get(slot)
        if old is not None:
            old.retiring = True
        # The old worker stops when its replacement reports ready (worker_ready).
        self._spawn(slot)

    # -- log relay ------------------------------------------------------------------
    def worker_ready(self, worker: _Worker) -> None:
        worker.ready = True
        predecessor, worker.predecessor = worker.predecessor, None
        if predecessor is not None and predecessor.pid in self.workers:
            self._drain(predecessor)
        if self._reload_queue and self._reload_queue[0] == worker.slot:
            self._reload_queue.pop(0)
            self._reload_next()
            if not self._reload_queue:
                log.info("master: worker processes restarted")
        if not self._announced and all(
            self._slots.get(s) is not None and self._slots[s].ready for s in range(self.count)
        ):
            self._announced = True
            log.info("mailsuite: ready ({n} worker processes)", n=self.count, **{READY_KEY: True})

    def relay_event(self, protocol: _WorkerProtocol, line: bytes) -> None:
        """Re-emit one log record from a worker (``logpipe``), naming the worker's pid."""
        worker = protocol.worker
        if not line.strip():
            return
        try:
            event = decode_line(line, worker.pid if worker is not None else 0)
        except ValueError:  # e.g. a print() in a worker: still worth a line
            self.relay_stderr(protocol, line)
            return
        self._publish(event)
        if event.get(READY_KEY) and worker is not None:
            self.worker_ready(worker)

    def relay_stderr(self, protocol: _WorkerProtocol, line: bytes) -> None:
        worker = protocol.worker
        log.warn(
            "master: service(mailsuite): child {pid} said: {line}",
            pid=worker.pid if worker is not None else 0,
            line=line.decode("utf-8", "replace").rstrip(),
        )


def build_master_service(settings: Settings, reactor: Any) -> service.MultiService:
    """The master's tree: a supervisor for ``[server] workers`` processes.

    Raises:
        ConfigError: ``workers`` is out of range, or any other setting is wrong
            (the full tree is built once here, so a worker never meets a config
            mistake the master did not report first).
        CannotListenError: an address cannot be bound.
    """
    from mailsuite.service.compose import build_root_service

    count = settings.server.workers
    if not 1 <= count <= MAX_WORKERS:
        raise ConfigError(f"[server] workers: must be 1 to {MAX_WORKERS}, got {count}")
    parse_level(settings.log.level)  # workers filter their events by it
    plan = ListenerPlan(bind=True)
    try:
        build_root_service(settings, reactor, listeners=plan)
    except BaseException:
        plan.close()
        raise
    root = service.MultiService()
    WorkerSupervisor(settings, reactor, plan, count).setServiceParent(root)
    log.info(
        "mailsuite: master configured from {base}; {n} workers", base=settings.base_dir, n=count
    )
    return root
