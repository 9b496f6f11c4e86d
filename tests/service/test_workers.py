"""[server] workers = 2: the supervisor's rules on a fake clock, then real processes on loopback."""

from __future__ import annotations

import json
import os
import poplib
import re
import signal
import smtplib
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from twisted.internet.error import ProcessDone, ProcessTerminated
from twisted.internet.task import Clock
from twisted.logger import LogLevel, eventAsText, globalLogPublisher
from twisted.python.failure import Failure

from mailsuite.config import Settings
from mailsuite.service import listen
from mailsuite.service.listen import ListenerPlan
from mailsuite.service.logpipe import encode_event
from mailsuite.service.worker_main import DRAIN_MAX_S
from mailsuite.service.workers import (
    RESTART_MAX_S,
    RESTART_MIN_S,
    STABLE_AFTER_S,
    STOP_TIMEOUT_S,
    WorkerSupervisor,
)
from tests.support.server import RunningServer, free_port, launch, write_config

WAIT_S = 30.0
STARTED = re.compile(r"master: service\(mailsuite\): started child (\d+)")
SERVING = re.compile(r"worker (\d+): serving \(pid (\d+)\)")


def _wait(predicate, what: str, timeout_s: float = WAIT_S):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie awaiting its reaper counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def _serving_pids(server: RunningServer) -> list[int]:
    return [int(m.group(2)) for m in SERVING.finditer(server.log_text())]


def _worker_of_newest(server: RunningServer, pattern: str, before: int) -> int:
    """Wait until ``pattern`` has matched more than ``before`` log lines; the newest one's pid."""
    regex = re.compile(pattern + r".*$", re.M)

    def newest() -> int | None:
        lines = [ln for ln in server.log_text().splitlines() if regex.search(ln)]
        if len(lines) <= before:
            return None
        m = re.search(r" worker=(\d+)\]", lines[-1])
        assert m, f"log line names no worker: {lines[-1]}"
        return int(m.group(1))

    return int(_wait(newest, f"log line {pattern!r}"))


def _count(server: RunningServer, pattern: str) -> int:
    return len(re.findall(pattern, server.log_text()))


def _pop3_stat(server: RunningServer) -> int:
    client = poplib.POP3("127.0.0.1", server.pop3_port, timeout=10)
    try:
        client.user("alice")
        client.pass_(server.users["alice"])
        return int(client.stat()[0])
    finally:
        client.quit()


def _deliver(server: RunningServer, subject: str) -> None:
    with smtplib.LMTP("127.0.0.1", server.lmtp_port, timeout=10) as lmtp:
        lmtp.sendmail(
            "sender@example.org",
            ["alice"],
            f"From: sender@example.org\r\nSubject: {subject}\r\n\r\nhello\r\n".encode(),
        )


class FakeProcess:
    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.stdin = b""
        self.signals: list[str] = []

    def write(self, data: bytes) -> None:
        self.stdin += data

    def signalProcess(self, name: str) -> None:
        self.signals.append(name)


class SpawningClock(Clock):
    """A clock whose spawnProcess records the call and hands out fake pids."""

    def __init__(self) -> None:
        super().__init__()
        self.spawned: list[tuple[Any, list[str], dict[int, Any], FakeProcess]] = []

    def spawnProcess(self, protocol, executable, args, env, path, childFDs):  # type: ignore[no-untyped-def]
        process = FakeProcess(1001 + len(self.spawned))
        protocol.makeConnection(process)
        self.spawned.append((protocol, args, childFDs, process))
        return process

    def callFromThread(self, f, *args, **kwargs):  # type: ignore[no-untyped-def]
        f(*args, **kwargs)

    def end(self, index: int, reason: Exception) -> None:
        self.spawned[index][0].processEnded(Failure(reason))

    def ready(self, index: int) -> None:
        protocol = self.spawned[index][0]
        event = {
            "log_format": "worker: serving",
            "log_namespace": "mailsuite.worker",
            "log_level": LogLevel.info,
            "mailsuite_worker_ready": True,
            "log_time": 0.0,
        }
        protocol.childDataReceived(1, encode_event(event))


@pytest.fixture
def master_log() -> Iterator[list[str]]:
    lines: list[str] = []

    def observe(event: dict[str, Any]) -> None:
        if event.get("log_namespace") == "mailsuite.master":
            lines.append(eventAsText(event, includeTimestamp=False, includeSystem=False))

    globalLogPublisher.addObserver(observe)
    yield lines
    globalLogPublisher.removeObserver(observe)


@pytest.fixture
def supervised() -> Iterator[tuple[WorkerSupervisor, SpawningClock, list[dict[str, Any]]]]:
    plan = ListenerPlan(bind=True)
    ctx = type("Ctx", (), {"reactor": None, "listeners": plan})()
    listen.tcp_service(ctx, "127.0.0.1:0", "[pop3] listen[0]", None, "pop3")
    listen.tcp_service(ctx, "127.0.0.1:0", "[imap] listen[0]", None, "imap")
    clock = SpawningClock()
    published: list[dict[str, Any]] = []
    settings = Settings(base_dir="/srv")
    sup = WorkerSupervisor(settings, clock, plan, 2, publish=published.append, argv=["python"])
    yield sup, clock, published
    plan.close()


def test_start_spawns_workers_with_inherited_sockets(supervised: Any) -> None:
    """Each worker gets the listening sockets from fd 3 on and the settings on stdin, not argv."""
    sup, clock, _ = supervised
    sup.startService()
    assert len(clock.spawned) == 2
    for slot, (_, args, child_fds, process) in enumerate(clock.spawned):
        fds = json.loads(args[args.index("--listeners") + 1])
        assert sorted(fds.values()) == [3, 4]
        assert {child_fds[n] for n in (3, 4)} == {s.fileno() for s in sup._plan.sockets.values()}
        assert (child_fds[0], child_fds[1], child_fds[2]) == ("w", "r", "r")
        assert args[args.index("--slot") + 1] == str(slot)
        assert json.loads(process.stdin)["base_dir"] == "/srv"
        assert "/srv" not in " ".join(args)


def test_dead_worker_restarted_with_backoff(supervised: Any, master_log: list[str]) -> None:
    """A worker dying young is restarted after 0.5 s, then 1 s, 2 s; a long life resets that."""
    sup, clock, _ = supervised
    sup.startService()
    clock.end(0, ProcessTerminated(signal=9))
    assert "master: service(mailsuite): child 1001 killed with signal 9 (restarting)" in master_log
    clock.advance(RESTART_MIN_S - 0.01)
    assert len(clock.spawned) == 2
    clock.advance(0.01)
    assert len(clock.spawned) == 3
    clock.end(2, ProcessTerminated(exitCode=1))
    assert "master: service(mailsuite): child 1003 returned error 1 (restarting)" in master_log
    clock.advance(RESTART_MIN_S * 2 - 0.01)
    assert len(clock.spawned) == 3
    clock.advance(0.01)
    assert len(clock.spawned) == 4
    assert any("throttling for 1.0s" in line for line in master_log)
    clock.advance(STABLE_AFTER_S)
    clock.end(3, ProcessDone(None))
    clock.advance(RESTART_MIN_S)
    assert len(clock.spawned) == 5
    assert all(p.signals == [] for _, _, _, p in clock.spawned)


def test_ready_once_every_worker_is_up(supervised: Any, master_log: list[str]) -> None:
    """The master says "mailsuite: ready" only once both workers said they are serving."""
    sup, clock, published = supervised
    sup.startService()
    clock.ready(0)
    assert not any("mailsuite: ready" in line for line in master_log)
    clock.ready(1)
    assert "mailsuite: ready (2 worker processes)" in master_log
    assert [e["mailsuite_text"] for e in published] == ["worker: serving", "worker: serving"]
    assert published[0]["log_system"] == "mailsuite.worker#info worker=1001"


def test_relayed_event_names_worker_and_keeps_traceback(
    supervised: Any, master_log: list[str]
) -> None:
    """A worker's event is re-emitted with its pid, level and traceback; junk becomes a warning."""
    sup, clock, published = supervised
    sup.startService()
    protocol = clock.spawned[1][0]
    try:
        raise TypeError("the reason")
    except TypeError:
        failure = Failure()
    event = {
        "log_format": "imap({user}): LOGOUT failed",
        "user": "alice",
        "log_namespace": "mailsuite.protocols.imap",
        "log_level": LogLevel.critical,
        "log_failure": failure,
        "log_time": 0.0,
    }
    data = encode_event(event)
    assert data is not None
    protocol.childDataReceived(1, data[:10])
    assert published == []
    protocol.childDataReceived(1, data[10:] + b"print output\n")
    (got,) = published
    assert got["log_level"] is LogLevel.critical
    text = eventAsText(got, includeTimestamp=False)
    assert text.startswith("[mailsuite.protocols.imap#critical worker=1002] imap(alice): LOGOUT")
    assert "TypeError: the reason" in text
    assert "master: service(mailsuite): child 1002 said: print output" in master_log


def test_stop_terms_then_kills(supervised: Any, master_log: list[str]) -> None:
    """Stopping sends SIGTERM, SIGKILL after the timeout, and ends when every worker has."""
    sup, clock, _ = supervised
    sup.startService()
    stopped = sup.stopService()
    assert [p.signals for _, _, _, p in clock.spawned] == [["TERM"], ["TERM"]]
    clock.end(0, ProcessTerminated(signal=15))
    clock.advance(STOP_TIMEOUT_S)
    assert clock.spawned[1][3].signals == ["TERM", "KILL"]
    assert not stopped.called
    clock.end(1, ProcessTerminated(signal=9))
    assert stopped.called
    assert sup._plan.sockets == {}
    assert len(clock.spawned) == 2  # nothing restarted while stopping
    assert "master: all worker processes stopped" in master_log


def test_rolling_restart_keeps_a_worker_serving(supervised: Any, master_log: list[str]) -> None:
    """On SIGHUP each worker drains only once its replacement is ready, one slot at a time."""
    sup, clock, _ = supervised
    sup.startService()
    clock.ready(0)
    clock.ready(1)
    sup.restart_workers()
    assert len(clock.spawned) == 3  # slot 0's replacement, the old one still runs
    assert clock.spawned[0][3].signals == []
    clock.ready(2)
    assert clock.spawned[0][3].stdin.endswith(b"}\ndrain\n")  # after the settings line
    assert len(clock.spawned) == 4  # now slot 1's replacement
    clock.end(0, ProcessDone(None))
    assert len(clock.spawned) == 4  # a retired worker is not restarted
    clock.ready(3)
    assert clock.spawned[1][3].stdin.endswith(b"drain\n")
    assert "master: worker processes restarted" in master_log
    # A worker that does not finish draining is stopped after the limit.
    clock.advance(DRAIN_MAX_S + STOP_TIMEOUT_S)
    assert clock.spawned[1][3].signals == ["TERM"]
    assert clock.spawned[0][3].signals == []


def test_sighup_during_delayed_restart_spawns_once(supervised: Any) -> None:
    """A SIGHUP while a dead worker waits for its restart does not give its slot two workers."""
    sup, clock, _ = supervised
    sup.startService()
    clock.ready(0)
    clock.ready(1)
    clock.end(0, ProcessTerminated(signal=9))
    sup.restart_workers()
    assert len(clock.spawned) == 3
    clock.advance(RESTART_MAX_S)
    assert len(clock.spawned) == 3
    assert sorted(w.slot for w in sup.workers.values()) == [0, 1]


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[RunningServer]:
    server = write_config(tmp_path, {"server": {"workers": 2}})
    launch(server)
    try:
        _wait(lambda: len(_serving_pids(server)) >= 2, "two workers serving")
        yield server
    finally:
        server.stop()


def _served_while_frozen(
    server: RunningServer, frozen: int, connect: Callable[[], object], pattern: str
) -> int:
    """The worker that serves ``connect()`` while ``frozen`` is stopped.

    The kernel does not promise to spread accepts over processes sharing a
    listening socket; stopping one worker makes the other take the connection.
    """
    os.kill(frozen, signal.SIGSTOP)
    try:
        before = _count(server, pattern)
        connect()
        return _worker_of_newest(server, pattern, before)
    finally:
        os.kill(frozen, signal.SIGCONT)


def test_connections_land_on_both_workers(two_workers: RunningServer) -> None:
    """POP3 connections are accepted by both worker processes, never by the master."""
    server = two_workers
    workers = set(_serving_pids(server))
    assert len(workers) == 2
    assert server.process is not None and server.process.pid not in workers
    pattern = r"pop3<[^>]+>: connect from"
    seen = {
        _served_while_frozen(server, frozen, lambda: _pop3_stat(server), pattern)
        for frozen in workers
    }
    assert seen == workers


def test_delivery_in_one_worker_is_seen_by_the_other(two_workers: RunningServer) -> None:
    """A message delivered over LMTP by one worker is in a POP3 session served by the other."""
    server = two_workers
    lmtp, pop3 = r"lmtp<[^>]+>: connect from", r"pop3<[^>]+>: connect from"
    for i in range(1, 4):
        before = _count(server, lmtp)
        _deliver(server, f"message {i}")
        delivered_by = _worker_of_newest(server, lmtp, before)
        counts: list[int] = []

        def read(counts: list[int] = counts) -> None:
            counts.append(_pop3_stat(server))

        # The delivering worker is stopped, so the other one must serve the POP3 session.
        read_by = _served_while_frozen(server, delivered_by, read, pop3)
        assert read_by != delivered_by
        assert counts == [i]


def test_idle_session_sees_delivery_through_other_worker(two_workers: RunningServer) -> None:
    """An IMAP IDLE session in one worker is told of a message another worker delivered."""
    server = two_workers
    before = _count(server, r"imap<[^>]+>: connect from")
    conn = socket.create_connection(("127.0.0.1", server.imap_port), timeout=10)
    reader = conn.makefile("rb")
    try:
        idle_worker = _worker_of_newest(server, r"imap<[^>]+>: connect from", before)
        assert reader.readline().startswith(b"* OK")

        def command(line: bytes) -> list[bytes]:
            conn.sendall(line + b"\r\n")
            tag = line.split(b" ", 1)[0]
            out = []
            while True:
                got = reader.readline()
                assert got, "connection closed"
                out.append(got)
                if got.startswith(tag + b" "):
                    return out

        password = server.users["alice"].encode()
        assert command(b'a1 LOGIN alice "' + password + b'"')[-1].startswith(b"a1 OK")
        assert command(b"a2 SELECT INBOX")[-1].startswith(b"a2 OK")
        conn.sendall(b"a3 IDLE\r\n")
        assert reader.readline().startswith(b"+")
        for i in range(40):
            before = _count(server, r"lmtp<[^>]+>: connect from")
            _deliver(server, f"idle {i}")
            if _worker_of_newest(server, r"lmtp<[^>]+>: connect from", before) != idle_worker:
                break
        else:
            pytest.fail("no delivery landed on the other worker")
        while True:
            line = reader.readline()
            assert line, "connection closed during IDLE"
            if line.endswith(b" EXISTS\r\n"):
                break
        conn.sendall(b"DONE\r\n")
    finally:
        reader.close()
        conn.close()


def _pop3_login_on(server: RunningServer, password: str) -> tuple[bool, int]:
    """One POP3 login as alice; whether it succeeded, and the worker that served it."""
    before = _count(server, r"pop3<[^>]+>: connect from")
    client = poplib.POP3("127.0.0.1", server.pop3_port, timeout=10)
    try:
        client.user("alice")
        try:
            client.pass_(password)
            ok = True
        except poplib.error_proto:
            ok = False
    finally:
        client.quit()
    return ok, _worker_of_newest(server, r"pop3<[^>]+>: connect from", before)


def _workers_answering(server: RunningServer, password: str, ok: bool, workers: set[int]) -> None:
    """Log in until every worker has answered ``password`` with ``ok``; fail on a timeout."""
    answered: set[int] = set()
    deadline = time.monotonic() + WAIT_S
    while answered != workers and time.monotonic() < deadline:
        result, worker = _pop3_login_on(server, password)
        if result == ok:
            answered.add(worker)
    assert answered == workers, f"workers {workers - answered} never answered {ok} for it"


def test_auth_cache_flush_reaches_every_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`mailsuite auth cache flush` empties the cache of both workers, not just one."""
    from mailsuite.cli.main import main

    auth = {"cache_ttl_s": 3600.0, "failure_delay_s": 0.0, "failure_delay_max_s": 0.0}
    server = write_config(tmp_path, {"server": {"workers": 2}, "auth": auth})
    launch(server)
    try:
        workers = set(
            _wait(
                lambda: set(_serving_pids(server)) if len(_serving_pids(server)) >= 2 else None,
                "two workers serving",
            )
        )
        _workers_answering(server, "alice-pw", True, workers)  # both caches hold alice
        users = tmp_path / "etc" / "users"
        users.write_text(users.read_text().replace("alice-pw", "new-pw"))
        stamp = time.time() + 5  # a new mtime even within the file system's granularity
        os.utime(users, (stamp, stamp))
        _workers_answering(server, "alice-pw", True, workers)  # the cache still says yes
        monkeypatch.chdir(tmp_path)
        assert main(["-c", server.config_path, "auth", "cache", "flush", "alice"]) == 0
        _workers_answering(server, "alice-pw", False, workers)
        assert _pop3_login_on(server, "new-pw")[0]
    finally:
        server.stop()


def test_killed_worker_is_restarted(two_workers: RunningServer) -> None:
    """A worker killed with SIGKILL is logged like Dovecot, replaced, and service continues."""
    server = two_workers
    victim, survivor = _serving_pids(server)[:2]
    os.kill(victim, signal.SIGKILL)
    _wait(
        lambda: f"child {victim} killed with signal 9 (restarting)" in server.log_text(),
        "the restart log line",
    )
    replacement = _wait(
        lambda: [p for p in _serving_pids(server) if p not in (victim, survivor)],
        "a replacement worker",
    )[0]
    assert not _alive(victim)
    # The kernel does not promise to spread accepts over processes sharing a
    # socket, so freeze the survivor: the next connection must be the replacement's.
    os.kill(survivor, signal.SIGSTOP)
    try:
        before = _count(server, r"pop3<[^>]+>: connect from")
        assert _pop3_stat(server) == 0
        assert _worker_of_newest(server, r"pop3<[^>]+>: connect from", before) == replacement
    finally:
        os.kill(survivor, signal.SIGCONT)
    assert _pop3_stat(server) == 0  # and the service goes on with both


def test_sighup_replaces_every_worker(two_workers: RunningServer) -> None:
    """SIGHUP replaces both workers; a session open in an old one finishes before it exits."""
    server = two_workers
    old = set(_serving_pids(server))
    before = _count(server, r"pop3<[^>]+>: connect from")
    session = poplib.POP3("127.0.0.1", server.pop3_port, timeout=10)
    session_worker = _worker_of_newest(server, r"pop3<[^>]+>: connect from", before)
    session.user("bob")  # alice's mailbox stays free for the new connections below
    session.pass_(server.users["bob"])
    assert server.process is not None
    server.process.send_signal(signal.SIGHUP)
    _wait(lambda: "master: worker processes restarted" in server.log_text(), "rolling restart")
    _wait(lambda: not any(_alive(p) for p in old - {session_worker}), "the idle old worker to exit")
    new = set(_serving_pids(server)) - old
    assert len(new) == 2 and all(_alive(p) for p in new)
    _wait(
        lambda: re.search(rf"worker={session_worker}\] worker \d: draining", server.log_text()),
        "the session's worker to start draining",
    )
    assert _alive(session_worker)  # draining: its session is still open
    assert session.stat()[0] == 0
    for _ in range(10):  # new connections only reach the new workers
        before = _count(server, r"pop3<[^>]+>: connect from")
        assert _pop3_stat(server) == 0
        assert _worker_of_newest(server, r"pop3<[^>]+>: connect from", before) in new
    session.quit()
    _wait(lambda: not _alive(session_worker), "the draining worker to exit")
    assert f"child {session_worker} exited (replaced on SIGHUP)" in server.log_text()
    assert server.process.poll() is None


def test_sigterm_stops_master_and_workers(two_workers: RunningServer) -> None:
    """SIGTERM to the master stops every worker, removes the LMTP socket and exits like twistd."""
    server = two_workers
    workers = _serving_pids(server)
    assert os.path.exists(server.lmtp_socket)
    assert server.process is not None
    server.process.send_signal(signal.SIGTERM)
    # twistd ends by re-raising the signal that stopped it (exit status -SIGTERM).
    assert server.process.wait(timeout=WAIT_S) in (0, -signal.SIGTERM)
    assert not any(_alive(p) for p in workers)
    assert not os.path.exists(server.lmtp_socket)
    assert "master: all worker processes stopped" in server.log_text()


def test_workers_exit_when_master_is_killed(two_workers: RunningServer) -> None:
    """A master killed with SIGKILL leaves no orphans: its workers see the lifeline close."""
    server = two_workers
    workers = _serving_pids(server)
    assert server.process is not None
    server.process.kill()
    server.process.wait(timeout=WAIT_S)
    _wait(lambda: not any(_alive(p) for p in workers), "the workers to exit")


def test_lmtp_unix_socket_is_shared(two_workers: RunningServer) -> None:
    """Deliveries over the master's LMTP Unix socket are accepted by the workers."""
    server = two_workers
    for i in range(3):
        with smtplib.LMTP(server.lmtp_socket, timeout=10) as lmtp:
            lmtp.sendmail("s@example.org", ["alice"], f"Subject: {i}\r\n\r\nx\r\n".encode())
    assert _pop3_stat(server) == 3


def test_front_end_listeners_are_shared(tmp_path: Path) -> None:
    """With [proxy] enabled every worker accepts on the master's front-end sockets too."""
    ports = {key: free_port() for key in ("imap", "imaps", "pop3", "pop3s")}
    proxy = {
        "enabled": True,
        "imap_listen": [f"127.0.0.1:{ports['imap']}"],
        "imap_tls_listen": [f"127.0.0.1:{ports['imaps']}"],
        "pop3_listen": [f"127.0.0.1:{ports['pop3']}"],
        "pop3_tls_listen": [f"127.0.0.1:{ports['pop3s']}"],
    }
    server = write_config(tmp_path, {"server": {"workers": 2}, "proxy": proxy})
    launch(server)
    try:
        _wait(lambda: len(_serving_pids(server)) >= 2, "two workers serving")
        assert "master: starting 2 worker processes on 10 listeners" in server.log_text()

        def login() -> None:
            client = poplib.POP3("127.0.0.1", ports["pop3"], timeout=10)
            client.user("alice")
            client.pass_(server.users["alice"])
            assert client.stat()[0] == 0
            client.quit()

        pattern = r"pop3-login\([^)]*\)<[^>]+>: connect from"
        workers = set(_serving_pids(server))
        seen = {_served_while_frozen(server, frozen, login, pattern) for frozen in workers}
        assert seen == workers
    finally:
        server.stop()


def test_bad_worker_count_stops_startup(tmp_path: Path) -> None:
    """workers = 0 stops start-up with one line naming the key."""
    server = write_config(tmp_path, {"server": {"workers": 0}})
    with pytest.raises(RuntimeError) as info:
        launch(server)
    assert "[server] workers: must be 1 to 256, got 0" in str(info.value)


def test_port_in_use_stops_master(tmp_path: Path) -> None:
    """An address already in use stops the master before any worker starts."""
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    port = blocker.getsockname()[1]
    try:
        server = write_config(
            tmp_path, {"server": {"workers": 2}, "pop3": {"listen": [f"127.0.0.1:{port}"]}}
        )
        with pytest.raises(RuntimeError) as info:
            launch(server)
        assert "[pop3] listen[0] 127.0.0.1:" in str(info.value)
        assert "started child" not in server.log_text()
    finally:
        blocker.close()
