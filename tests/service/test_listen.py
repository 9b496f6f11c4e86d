"""listen.py: parse addresses, bind in the master, adopt inherited sockets in a worker."""

from __future__ import annotations

import os
import socket
from types import SimpleNamespace
from typing import Any

import pytest
from twisted.application.internet import StreamServerEndpointService
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.error import CannotListenError
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.testing import MemoryReactor
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from mailsuite.errors import ConfigError
from mailsuite.service import listen
from mailsuite.service.listen import AdoptedPortService, ListenerPlan


class Greeter(Protocol):
    def connectionMade(self) -> None:
        self.transport.write(b"hello\r\n")  # type: ignore[union-attr]
        self.transport.loseConnection()  # type: ignore[union-attr]


def ctx(plan: ListenerPlan | None, the_reactor: Any = None) -> Any:
    return SimpleNamespace(reactor=the_reactor or MemoryReactor(), listeners=plan)


def read_greeting(address: Any, family: int = socket.AF_INET) -> bytes:
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(address)
        return s.recv(100)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("127.0.0.1:143", ("127.0.0.1", 143)),
        ("[::1]:993", ("::1", 993)),
        ("*:110", ("0.0.0.0", 110)),
        ("localhost:0", ("localhost", 0)),
    ],
)
def test_parse_listen_forms(value: str, expected: tuple[str, int]) -> None:
    """host:port, [v6]:port, *:port and port 0 are understood."""
    assert listen.parse_listen(value, "k") == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("143", "k: expected \"host:port\", got '143'"),
        (":143", 'k: expected "host:port"'),
        ("host:http", 'k: expected "host:port"'),
        ("host:70000", "k: port out of range in 'host:70000'"),
        ("::1:143", 'k: write IPv6 addresses as "[addr]:port"'),
    ],
)
def test_parse_listen_mistakes_name_the_key(value: str, message: str) -> None:
    """A malformed address is a ConfigError naming the key and the value."""
    with pytest.raises(ConfigError) as info:
        listen.parse_listen(value, "k")
    assert message in str(info.value)


def test_one_process_listens_normally() -> None:
    """Without a plan a listener is an endpoint service that fails loudly on a port in use."""
    svc = listen.tcp_service(ctx(None), "[::1]:1143", "[imap] listen[0]", Factory(), "imap:x")
    assert isinstance(svc, StreamServerEndpointService)
    assert svc.name == "imap:x"
    assert svc._raiseSynchronously is True
    svc.startService()
    ((port, _, backlog, interface),) = svc.endpoint._reactor.tcpServers
    assert (port, backlog, interface) == (1143, listen.BACKLOG, "::1")


def test_master_binds_at_build_time() -> None:
    """In bind mode the socket is bound, listening and non-blocking before anything starts."""
    plan = ListenerPlan(bind=True)
    try:
        svc = listen.tcp_service(ctx(plan), "127.0.0.1:0", "[pop3] listen[0]", Factory(), "p")
        assert not isinstance(svc, StreamServerEndpointService)
        (key,) = plan.sockets
        assert key == "[pop3] listen[0] 127.0.0.1:0"
        sock = plan.sockets[key]
        assert sock.getblocking() is False
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1
    finally:
        plan.close()
    assert plan.sockets == {}


def test_master_reports_address_in_use() -> None:
    """A port in use stops the master with the config key in the message."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        value = f"127.0.0.1:{taken.getsockname()[1]}"
        plan = ListenerPlan(bind=True)
        with pytest.raises(CannotListenError) as info:
            listen.tcp_service(ctx(plan), value, "[imap] listen[0]", Factory(), "i")
        assert f"[imap] listen[0] {value}" in str(info.value)
        assert plan.sockets == {}


def test_unix_socket_in_use_by_live_server(tmp_path: Any) -> None:
    """A Unix socket whose lock belongs to a running server is not taken over."""
    path = str(tmp_path / "lmtp.sock")
    first = ListenerPlan(bind=True)
    try:
        listen.unix_service(ctx(first), path, "[lmtp] socket", Factory(), "l")
        second = ListenerPlan(bind=True)
        # The lock names this (live) process, as a running master's would.
        with pytest.raises(CannotListenError) as info:
            listen.unix_service(ctx(second), path, "[lmtp] socket", Factory(), "l")
        assert "[lmtp] socket: socket in use by another running server" in str(info.value)
    finally:
        first.close()
    assert not os.path.exists(path)


def test_unix_stale_socket_replaced(tmp_path: Any) -> None:
    """A socket file left by a dead server (no live lock) is removed and bound again."""
    path = str(tmp_path / "lmtp.sock")
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)
    stale.close()
    os.symlink("999999999", path + ".lock")  # FilesystemLock: the owner pid, dead
    plan = ListenerPlan(bind=True)
    try:
        listen.unix_service(ctx(plan), path, "[lmtp] socket", Factory(), "l", mode=0o600)
        assert os.stat(path).st_mode & 0o777 == 0o600
    finally:
        plan.close()


def test_worker_without_inherited_socket_does_not_bind() -> None:
    """A listener the master did not open is skipped in a worker, never bound there."""
    the_reactor = MemoryReactor()
    plan = ListenerPlan(bind=False, fds={})
    svc = listen.tcp_service(ctx(plan, the_reactor), "127.0.0.1:1", "[imap] listen[9]", None, "x")
    svc.startService()
    assert the_reactor.tcpServers == [] and the_reactor.adoptedPorts == []


class AdoptTests(TestCase):
    """Adopting the master's sockets on the real reactor."""

    def test_adopted_tcp_socket_serves(self) -> Deferred[None]:
        """A worker's adopted TCP socket accepts connections for its factory."""
        master = ListenerPlan(bind=True)
        self.addCleanup(master.close)
        listen.tcp_service(ctx(master), "127.0.0.1:0", "[pop3] listen[0]", None, "p")
        ((key, sock),) = master.sockets.items()
        worker = ListenerPlan(bind=False, fds={key: sock.fileno()})
        factory = Factory.forProtocol(Greeter)
        svc = listen.tcp_service(
            ctx(worker, reactor), "127.0.0.1:0", "[pop3] listen[0]", factory, "p"
        )
        assert isinstance(svc, AdoptedPortService)
        svc.startService()
        self.addCleanup(svc.stopService)
        d = deferToThread(read_greeting, sock.getsockname())
        d.addCallback(self.assertEqual, b"hello\r\n")
        return d

    def test_adopted_unix_socket_survives_a_worker_stopping(self) -> Deferred[None]:
        """A worker that stops listening leaves the master's Unix socket file for its siblings."""
        path = self.mktemp() + ".sock"
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        master = ListenerPlan(bind=True)
        self.addCleanup(master.close)
        listen.unix_service(ctx(master), path, "[lmtp] socket", None, "l")
        ((key, sock),) = master.sockets.items()
        factory = Factory.forProtocol(Greeter)

        def adopt() -> AdoptedPortService:
            plan = ListenerPlan(bind=False, fds={key: sock.fileno()})
            svc = listen.unix_service(ctx(plan, reactor), path, "[lmtp] socket", factory, "l")
            svc.startService()
            return svc

        first = adopt()

        async def scenario() -> None:
            await first.stopService()
            assert os.path.exists(path)
            second = adopt()
            try:
                greeting = await deferToThread(read_greeting, path, socket.AF_UNIX)
                assert greeting == b"hello\r\n"
            finally:
                await second.stopService()

        return Deferred.fromCoroutine(scenario())


def test_master_binds_ipv6() -> None:
    """An "[addr]:port" listener is bound as an IPv6 socket."""
    plan = ListenerPlan(bind=True)
    try:
        try:
            listen.tcp_service(ctx(plan), "[::1]:0", "[imap] listen[1]", None, "i")
        except CannotListenError as e:
            pytest.skip(f"no IPv6 loopback here: {e}")
        (sock,) = plan.sockets.values()
        assert sock.family == socket.AF_INET6
        assert sock.getsockname()[0] == "::1"
    finally:
        plan.close()
