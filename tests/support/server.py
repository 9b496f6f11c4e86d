"""Run the real server (``twistd -n mailsuite``) on free loopback ports for a test.

Tests talk to it with real clients over real sockets, exactly as admins' users
would. Each server gets its own directory with config, users file, Maildirs,
certificate and log.
"""

from __future__ import annotations

import contextlib
import copy
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.toml_write import dumps

__all__ = ["RunningServer", "start_server", "free_port", "DEFAULT_USERS"]

DEFAULT_USERS = {"alice": "alice-pw", "bob": "bob-pw"}
READY_MARKER = "mailsuite: ready"
START_TIMEOUT_S = 60.0


# Below Linux's ephemeral range (32768-60999): a port the kernel hands to some
# client's outgoing connection between our check and twistd's bind would make the
# server fail with "address already in use"; ports here are only taken by binds.
_PORT_RANGE = (20000, 32767)
_rng = random.Random(os.getpid() ^ int(time.time()))


def free_port(host: str = "127.0.0.1") -> int:
    """A loopback TCP port that is free now, chosen outside the ephemeral range."""
    for _ in range(200):
        port = _rng.randint(*_PORT_RANGE)
        with socket.socket() as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return port
    with socket.socket() as s:  # everything we tried was busy: let the kernel choose
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


@dataclass
class RunningServer:
    base_dir: str
    config_path: str
    log_path: str
    imap_port: int
    imaps_port: int
    pop3_port: int
    pop3s_port: int
    lmtp_port: int
    lmtp_socket: str
    users: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    def mail_root(self, user: str) -> str:
        return os.path.join(self.base_dir, "var", "mail", user)

    def log_text(self) -> str:
        try:
            return Path(self.log_path).read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _twistd() -> str:
    candidate = os.path.join(os.path.dirname(sys.executable), "twistd")
    return candidate if os.path.exists(candidate) else "twistd"


class PortTaken(RuntimeError):
    """Another process bound one of the chosen ports first; retry with new ones."""


def write_config(
    base: Path, overrides: dict[str, Any] | None = None, users: dict[str, str] | None = None
) -> RunningServer:
    """Write config and users into ``base`` and return the (not yet started) server."""
    users = dict(DEFAULT_USERS if users is None else users)
    (base / "etc").mkdir(parents=True, exist_ok=True)
    users_file = base / "etc" / "users"
    users_file.write_text("".join(f"{u}:{{PLAIN}}{p}::::::\n" for u, p in users.items()))
    ports = {name: free_port() for name in ("imap", "imaps", "pop3", "pop3s", "lmtp")}
    lmtp_socket = str(base / "var" / "lmtp.sock")
    doc: dict[str, Any] = {
        "server": {"hostname": "localhost", "state_dir": "var/state"},
        "tls": {"cert": "var/tls/cert.pem", "key": "var/tls/key.pem"},
        "mail": {"location": "var/mail/%u"},
        "imap": {
            "listen": [f"127.0.0.1:{ports['imap']}"],
            "tls_listen": [f"127.0.0.1:{ports['imaps']}"],
        },
        "pop3": {
            "listen": [f"127.0.0.1:{ports['pop3']}"],
            "tls_listen": [f"127.0.0.1:{ports['pop3s']}"],
        },
        "lmtp": {"listen": [f"127.0.0.1:{ports['lmtp']}"], "socket": "var/lmtp.sock"},
        "passdb": [{"driver": "passwd-file", "path": "etc/users"}],
        "userdb": [{"driver": "passwd-file", "path": "etc/users"}],
        "log": {"level": "debug"},
    }
    doc = _merge(doc, overrides or {})
    config_path = base / "etc" / "mailsuite.toml"
    config_path.write_text(dumps(doc))
    return RunningServer(
        base_dir=str(base),
        config_path=str(config_path),
        log_path=str(base / "twistd.log"),
        imap_port=ports["imap"],
        imaps_port=ports["imaps"],
        pop3_port=ports["pop3"],
        pop3s_port=ports["pop3s"],
        lmtp_port=ports["lmtp"],
        lmtp_socket=lmtp_socket,
        users=users,
    )


def launch(server: RunningServer) -> RunningServer:
    """Start twistd for a server made by write_config and wait until it is ready."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH", "")]
    )
    server.process = subprocess.Popen(
        [
            _twistd(),
            "-n",
            "--pidfile=",
            f"--logfile={server.log_path}",
            "mailsuite",
            "--config",
            server.config_path,
        ],
        cwd=server.base_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if READY_MARKER in server.log_text():
            return server
        if server.process.poll() is not None:
            out = (
                server.process.stdout.read().decode(errors="replace")
                if server.process.stdout
                else ""
            )
            if "Address already in use" in out + server.log_text():
                raise PortTaken(
                    f"a port of {server.config_path} was taken before twistd bound it:\n"
                    f"{out}\n{server.log_text()}"
                )
            raise RuntimeError(
                f"mailsuite exited with {server.process.returncode} before it was ready:\n"
                f"{out}\n{server.log_text()}"
            )
        time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"mailsuite not ready after {START_TIMEOUT_S}s:\n{server.log_text()}")


@contextlib.contextmanager
def start_server(
    tmp_path: Path, overrides: dict[str, Any] | None = None, users: dict[str, str] | None = None
) -> Iterator[RunningServer]:
    """Run a mailsuite server in ``tmp_path`` for the duration of the with-block."""
    for attempt in range(3):
        server = write_config(Path(tmp_path), overrides, users)
        try:
            launch(server)
            break
        except PortTaken:
            if attempt == 2:
                raise
    try:
        yield server
    finally:
        server.stop()
