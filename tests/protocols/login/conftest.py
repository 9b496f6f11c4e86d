"""A front end and two backend mailsuite processes on loopback, shared by the proxy tests.

Backend 1 listens on 127.0.0.2 and backend 2 on 127.0.0.3, with the same
ports, so ``[proxy] backends = ["127.0.0.2", "127.0.0.3"]`` hashes over them.
Each backend also serves its IMAP/POP3 on PROXY-protocol ports for the front
end, so its log shows the real client address. The front end routes alice by
passdb fields to backend 1, "down" to a port nobody listens on, and everyone
else by hashing.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.server import RunningServer, free_port, launch, write_config

USERS = {f"user{i}": f"pw{i}" for i in range(1, 9)} | {
    "alice": "alice-pw",
    "bob": "bob-pw",
    "tlsuser": "tls-pw",
}
CLIENT_IP = "127.0.0.5"  # the tests' clients bind here, so the backends can show it
TRUSTED_PROXY_IP = "127.0.0.6"  # a trusted front end in the local-only tests


def _free_on_all(hosts: list[str]) -> int:
    for _ in range(50):
        port = free_port()
        try:
            for host in hosts:
                with socket.socket() as s:
                    s.bind((host, port))
        except OSError:
            continue
        return port
    raise RuntimeError("no common free port")


@dataclass
class Cluster:
    front: RunningServer
    backends: dict[str, RunningServer]  # "127.0.0.2" -> server
    front_ports: dict[str, int]
    pop3_port: int  # the backends' PROXY-protocol POP3 port
    imap_port: int
    down_port: int
    mute: socket.socket  # listens, never accepts or answers: a hung backend

    def deliver(self, host: str, user: str, text: str) -> None:
        """Put a message straight into a backend user's Maildir (new/)."""
        root = self.backends[host].mail_root(user)
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(root, sub), exist_ok=True)
        name = f"{time.time_ns()}.M1P{os.getpid()}.test"
        with open(os.path.join(root, "new", name), "w") as f:
            f.write(text)


def _start_cluster(
    tmp_path_factory: pytest.TempPathFactory, started: list[RunningServer]
) -> Cluster:
    hosts = ["127.0.0.2", "127.0.0.3"]
    pop3_port = _free_on_all(hosts)
    imap_port = _free_on_all(hosts)
    down_port = free_port()
    mute = socket.socket()
    mute.bind(("127.0.0.1", 0))
    mute.listen(16)
    mute_port = mute.getsockname()[1]
    backends: dict[str, RunningServer] = {}
    for host in hosts:
        server = write_config(
            tmp_path_factory.mktemp(f"backend-{host}"),
            {
                "proxy": {
                    "trusted_networks": ["127.0.0.0/8"],
                    "haproxy_pop3_listen": [f"{host}:{pop3_port}"],
                    "haproxy_imap_listen": [f"{host}:{imap_port}"],
                }
            },
            USERS,
        )
        started.append(launch(server))
        backends[host] = server
    front_ports = {k: free_port() for k in ("imap", "imaps", "pop3", "pop3s")}
    front = write_config(
        tmp_path_factory.mktemp("front"),
        {
            "proxy": {
                "enabled": True,
                "imap_listen": [f"127.0.0.1:{front_ports['imap']}"],
                "imap_tls_listen": [f"127.0.0.1:{front_ports['imaps']}"],
                "pop3_listen": [f"127.0.0.1:{front_ports['pop3']}"],
                "pop3_tls_listen": [f"127.0.0.1:{front_ports['pop3s']}"],
                "backends": hosts,
                "backend_imap_port": imap_port,
                "backend_pop3_port": pop3_port,
                "send_proxy_protocol": True,
                "trusted_networks": ["127.0.0.0/8"],
                "connect_timeout_s": 5.0,
                "login_timeout_s": 3.0,
            }
        },
        USERS,
    )
    users_file = Path(front.base_dir) / "etc" / "users"
    lines = []
    for user, password in USERS.items():
        if user in ("user8", "tlsuser"):  # routed by the lines below
            continue
        extra = ""
        if user == "alice":
            # No port: the front end's backend_<protocol>_port applies.
            extra = "proxy=y host=127.0.0.2"
        lines.append(f"{user}:{{PLAIN}}{password}::::::{extra}\n")
    lines.append(f"down:{{PLAIN}}down-pw::::::proxy=y host=127.0.0.1 port={down_port}\n")
    # Backend 2 by passdb field, over STARTTLS/STLS (the backend's self-signed cert).
    lines.append("user8:{PLAIN}pw8::::::proxy=y host=127.0.0.3 starttls=any-cert\n")
    lines.append(f"mute:{{PLAIN}}mute-pw::::::proxy=y host=127.0.0.1 port={mute_port}\n")
    # Backend 2's ordinary POP3S port (on 127.0.0.1): implicit TLS, no PROXY header.
    pop3s = backends["127.0.0.3"].pop3s_port
    lines.append(
        f"tlsuser:{{PLAIN}}tls-pw::::::proxy=y host=127.0.0.1 port={pop3s} ssl=any-cert"
        " proxy_protocol=no\n"
    )
    # Routed to the front end's own IMAP port: the loop guard must stop it.
    lines.append(f"loop:{{PLAIN}}loop-pw::::::proxy=y host=127.0.0.1 port={front_ports['imap']}\n")
    users_file.write_text("".join(lines))
    started.append(launch(front))
    return Cluster(front, backends, front_ports, pop3_port, imap_port, down_port, mute)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Start the three servers; retried, since a free port may be taken before we bind it."""
    for attempt in range(3):
        started: list[RunningServer] = []
        try:
            running = _start_cluster(tmp_path_factory, started)
        except RuntimeError:
            for server in started:
                server.stop()
            if attempt == 2:
                raise
            continue
        try:
            yield running
        finally:
            running.mute.close()
            for server in started:
                server.stop()
        return


@dataclass
class LocalFront:
    """One mailsuite process with [proxy] enabled and no proxy fields: every user is local."""

    server: RunningServer
    ports: dict[str, int]  # the front end's "imap", "imaps", "pop3", "pop3s"

    def deliver(self, user: str, text: str) -> None:
        """Put a message straight into the user's Maildir (new/), as another MDA would."""
        root = self.server.mail_root(user)
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(root, sub), exist_ok=True)
        name = f"{time.time_ns()}.M1P{os.getpid()}.local"
        with open(os.path.join(root, "new", name), "w") as f:
            f.write(text)


def start_local_front(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalFront]:
    """Start a local-only front end (a port may be taken meanwhile: retried)."""
    for attempt in range(3):
        ports = {k: free_port() for k in ("imap", "imaps", "pop3", "pop3s")}
        overrides = {
            "proxy": {
                "enabled": True,
                "imap_listen": [f"127.0.0.1:{ports['imap']}"],
                "imap_tls_listen": [f"127.0.0.1:{ports['imaps']}"],
                "pop3_listen": [f"127.0.0.1:{ports['pop3']}"],
                "pop3_tls_listen": [f"127.0.0.1:{ports['pop3s']}"],
                # Another front end (a proxy chain) may speak for its client from here.
                "trusted_networks": [f"{TRUSTED_PROXY_IP}/32"],
            }
        }
        server = write_config(tmp_path_factory.mktemp("local"), overrides, USERS)
        try:
            launch(server)
        except RuntimeError:
            if attempt == 2:
                raise
            continue
        try:
            yield LocalFront(server, ports)
        finally:
            server.stop()
        return
