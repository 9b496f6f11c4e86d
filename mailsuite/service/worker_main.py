"""The worker side of ``[server] workers = N``: one server process under the master.

Started by ``mailsuite.service.workers`` as
``python -c "from mailsuite.service.worker_main import main; main()" --slot N --listeners JSON``
with: fd 0 the settings (one JSON line) and then the lifeline to the master,
fd 1 a pipe for log events (JSON text sequences), fd 2 stderr, and from fd 3 on
the master's listening sockets, named in ``--listeners``. It builds the same
service tree as a one-process server, adopting those sockets instead of
binding, and runs until SIGTERM or until the master goes away.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import sys
from collections.abc import Callable, Iterator
from typing import Any

from twisted.internet import task, tcp, unix
from twisted.internet.main import CONNECTION_DONE, CONNECTION_LOST
from twisted.logger import Logger, globalLogBeginner
from twisted.python.failure import Failure

from mailsuite.config import Settings, settings_from_mapping
from mailsuite.errors import ConfigError
from mailsuite.service.listen import AdoptedPortService, ListenerPlan
from mailsuite.service.logpipe import READY_KEY, parse_level, pipe_observer

__all__ = ["MasterLifeline", "main", "settings_from_json"]

log = Logger(namespace="mailsuite.worker")

DRAIN_MAX_S = 60.0  # SIGHUP: how long a retiring worker lets its sessions finish
DRAIN_POLL_S = 0.5


def settings_from_json(line: bytes) -> Settings:
    """Rebuild the master's settings from ``workers.settings_to_json`` output.

    Raises:
        ConfigError: the line is not the settings the master sends.
    """
    try:
        raw = json.loads(line)
    except ValueError as e:
        raise ConfigError(f"worker: settings from the master are not JSON: {e}") from None
    if not isinstance(raw, dict):
        raise ConfigError("worker: settings from the master are not a JSON object")
    base_dir = str(raw.pop("base_dir", "."))
    settings = settings_from_mapping(raw, source="<settings from master>")
    return dataclasses.replace(settings, base_dir=base_dir)


class MasterLifeline:
    """Watches fd 0: end of file means the master died, so this worker stops.

    A reader on the reactor (never a blocking read). After the settings line
    the master writes only commands, one per line: ``drain`` (SIGHUP's
    rolling restart: stop accepting, finish the open sessions, exit).
    """

    def __init__(
        self, fd: int, on_lost: Callable[[], None], on_command: Callable[[str], None] | None = None
    ) -> None:
        self._fd = fd
        self._on_lost = on_lost
        self._on_command = on_command
        self._buffer = b""
        os.set_blocking(fd, False)

    def fileno(self) -> int:
        return self._fd

    def logPrefix(self) -> str:
        return "master-lifeline"

    def doRead(self) -> Any:
        try:
            data = os.read(self._fd, 4096)
        except BlockingIOError:
            return None
        except OSError:
            return CONNECTION_LOST
        if not data:
            return CONNECTION_DONE
        *lines, self._buffer = (self._buffer + data).split(b"\n")
        for line in lines:
            if self._on_command is not None:
                self._on_command(line.decode("ascii", "replace").strip())
        return None

    def connectionLost(self, reason: Failure) -> None:
        self._on_lost()


def open_connections(reactor: Any) -> int:
    """Client connections this process still has (TLS ones ride on a TCP transport)."""
    descriptors = set(reactor.getReaders()) | set(reactor.getWriters())
    return sum(isinstance(d, tcp.Server | unix.Server) for d in descriptors)


def _drain(reactor: Any, root: Any, slot: int) -> None:
    """Stop accepting now; stop the process once no session is left, or after DRAIN_MAX_S."""
    ports = [svc for svc in _walk(root) if isinstance(svc, AdoptedPortService)]
    for svc in ports:
        svc.stopService()
    deadline = reactor.seconds() + DRAIN_MAX_S
    log.info(
        "worker {slot}: draining: no new connections; {n} open",
        slot=slot,
        n=open_connections(reactor),
    )

    def check() -> None:
        left = open_connections(reactor)
        if left and reactor.seconds() < deadline:
            return
        if left:
            log.info(
                "worker {slot}: drained for {s}s; closing {n} sessions",
                slot=slot,
                s=DRAIN_MAX_S,
                n=left,
            )
        poll.stop()
        reactor.stop()

    poll = task.LoopingCall(check)
    poll.clock = reactor
    poll.start(DRAIN_POLL_S, now=True)


def _walk(svc: Any) -> Iterator[Any]:
    yield svc
    for child in getattr(svc, "services", ()):
        yield from _walk(child)


def _read_settings_line() -> bytes:
    # Before the reactor runs: a blocking read of exactly one line, byte by byte,
    # so nothing after it is taken from the pipe.
    chunks = bytearray()
    while True:
        b = os.read(0, 1)
        if not b or b == b"\n":
            return bytes(chunks)
        chunks += b


def main(argv: list[str] | None = None) -> None:
    """Run one worker until SIGTERM or the master's end; exit status 1 on a start-up error."""
    # Only the master reacts to the terminal's SIGINT and to SIGHUP; it stops or
    # replaces workers itself (SIGTERM still stops this one cleanly). Set again
    # once the reactor runs, since it installs its own SIGINT handler.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    parser = argparse.ArgumentParser(prog="mailsuite-worker")
    parser.add_argument("--slot", type=int, default=0)
    parser.add_argument("--listeners", default="{}")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    fds = {str(k): int(v) for k, v in json.loads(args.listeners).items()}
    try:
        settings = settings_from_json(_read_settings_line())
        min_level = parse_level(settings.log.level)
    except ConfigError as e:
        sys.stderr.write(f"mailsuite worker: {e}\n")
        raise SystemExit(1) from None

    # Log events go to the master (logpipe); it writes the one log, naming our pid.
    # A blocking write: if the master cannot keep up, the worker waits rather
    # than losing lines (the pipe holds 64 KiB, hundreds of lines).
    out = open(1, "wb", buffering=0, closefd=False)  # noqa: SIM115
    observer: Any = pipe_observer(out.write, min_level)
    globalLogBeginner.beginLoggingTo([observer], redirectStandardIO=False)

    from twisted.internet import reactor as global_reactor

    reactor: Any = global_reactor

    from mailsuite.service.compose import build_root_service

    plan = ListenerPlan(bind=False, fds=fds)
    try:
        root = build_root_service(settings, reactor, listeners=plan)
        root.privilegedStartService()
        root.startService()
    except Exception as e:
        log.failure("worker {slot}: start-up failed: {why}", slot=args.slot, why=e)
        raise SystemExit(1) from None
    shutting_down = False

    def stop_services() -> Any:
        nonlocal shutting_down
        shutting_down = True
        return root.stopService()

    reactor.addSystemEventTrigger("before", "shutdown", stop_services)

    def on_command(command: str) -> None:
        if command == "drain":
            _drain(reactor, root, args.slot)
        else:
            log.warn(
                "worker {slot}: unknown command {c!r} from the master", slot=args.slot, c=command
            )

    def master_gone() -> None:
        # The reactor also drops this reader when it shuts down: not news then.
        if shutting_down:
            return
        log.warn("worker {slot}: the master process went away; stopping", slot=args.slot)
        reactor.stop()

    def started() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        reactor.addReader(MasterLifeline(0, master_gone, on_command))
        log.info(
            "worker {slot}: serving (pid {pid})",
            slot=args.slot,
            pid=os.getpid(),
            **{READY_KEY: True},
        )

    reactor.callWhenRunning(started)
    reactor.run()
