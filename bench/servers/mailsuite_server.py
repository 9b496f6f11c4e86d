"""mailsuite itself: ``twistd -n mailsuite --config GENERATED.toml``.

Only the services that exist today are measured: the harness probes each
port for its greeting and reports the silent ones as "service not built yet".
"""

from __future__ import annotations

import os
import shutil
import sys

from bench.procs import free_port
from bench.seed import Manifest, clone_mail
from bench.servers.base import PROTOCOLS, Server

__all__ = ["Mailsuite"]

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Mailsuite(Server):
    name = "mailsuite"
    optional = PROTOCOLS
    workers = 1  # [server] workers: processes sharing the listening sockets

    def _twistd(self) -> str:
        return os.path.join(os.path.dirname(sys.executable), "twistd")

    def unavailable(self) -> str | None:
        if not os.path.exists(self._twistd()):
            return "twistd not found next to this Python; run ./dev bench (it sets up .venv)"
        return None

    def prepare(self, template_root: str, manifest: Manifest) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        clone_mail(template_root, self.mail_dir)
        users = os.path.join(self.dir, "users")
        with open(users, "w") as f:
            for user, password in manifest.passwords.items():
                f.write(f"{user}:{{PLAIN}}{password}::::::\n")
        d = self.dir
        conf = f"""# mailsuite bench: generated config ({self.name}), loopback only.
[server]
hostname = "localhost"
state_dir = "{d}/state"
workers = {self.workers}

[tls]
cert = "{d}/tls/cert.pem"
key = "{d}/tls/key.pem"

[mail]
location = "{self.mail_dir}/%u"

[imap]
listen = ["127.0.0.1:{self.ports["imap"]}"]
tls_listen = ["127.0.0.1:{free_port()}"]

[pop3]
listen = ["127.0.0.1:{self.ports["pop3"]}"]
tls_listen = ["127.0.0.1:{free_port()}"]

[lmtp]
listen = ["127.0.0.1:{self.ports["lmtp"]}"]
socket = "{d}/lmtp.sock"

[[passdb]]
driver = "passwd-file"
path = "{users}"

[[userdb]]
driver = "passwd-file"
path = "{users}"

[auth]
# The IDLE workload opens many connections per user from one address.
max_connections_per_user_ip = 100000
# LMTP recipients are user@localhost; logins use the bare name (as Dovecot's %n).
username_format = "%n"

[log]
level = "info"  # start-up logs "mailsuite: ready", which the harness waits for
"""
        with open(os.path.join(d, "mailsuite.toml"), "w") as f:
            f.write(conf)

    def command(self) -> list[str]:
        return [
            self._twistd(),
            "-n",
            "--pidfile=",
            "--logfile",
            os.path.join(self.dir, "twistd.log"),
            "mailsuite",
            "--config",
            os.path.join(self.dir, "mailsuite.toml"),
        ]

    def start(self, timeout_s: float = 60.0) -> None:
        log = os.path.join(self.dir, "twistd.log")
        if os.path.exists(log):  # keep the last run's log, but wait for a fresh "ready"
            os.replace(log, log + ".prev")
        super().start(timeout_s)

    def says_ready(self) -> bool:
        try:
            with open(os.path.join(self.dir, "twistd.log"), "rb") as f:
                return b"mailsuite: ready" in f.read()
        except OSError:
            return False

    def log_tail(self, lines: int = 15) -> str:
        own = super().log_tail(lines)
        try:
            with open(os.path.join(self.dir, "twistd.log"), "rb") as f:
                return own + b"".join(f.readlines()[-lines:]).decode("utf-8", "replace")
        except OSError:
            return own


class MailsuiteWorkers2(Mailsuite):
    """mailsuite with ``[server] workers = 2``: a master and two worker processes."""

    name = "mailsuite-2w"
    workers = 2
