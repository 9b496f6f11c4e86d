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
from bench.sieve import prepare_sieve

__all__ = ["Mailsuite", "MailsuiteProxy", "MailsuiteWorkers2", "start_from_tree"]

BACKEND_HOST = "127.0.0.2"  # mailsuite-proxy's backend (loopback; see MailsuiteProxy)
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def start_from_tree(server: Server, tree: str | None) -> None:
    """Start ``server``; with ``tree`` (e.g. a ``git archive`` of an older commit), the
    mailsuite code found there runs instead of this checkout's (before/after figures)."""
    saved = os.environ.get("PYTHONPATH")
    if tree:
        # twistd finds mailsuite (and the plugin) on PYTHONPATH before the editable install.
        os.environ["PYTHONPATH"] = os.path.abspath(tree)
    try:
        server.start()
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved


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
        self.sieve_dir = os.path.join(self.dir, "sieve")
        prepare_sieve(self.sieve_dir, self.mail_dir, manifest)
        users = os.path.join(self.dir, "users")
        with open(users, "w") as f:
            for user, password in manifest.passwords.items():
                f.write(f"{user}:{{PLAIN}}{password}::::::\n")
        self._write_configs(users)

    def _write_configs(self, users: str) -> None:
        with open(os.path.join(self.dir, "mailsuite.toml"), "w") as f:
            f.write(self._config(self.dir, self.mail_dir, users, self.ports))

    def _config(
        self, d: str, mail_dir: str, users: str, ports: dict[str, int], extra: str = ""
    ) -> str:
        """One mailsuite config: state under ``d``, mail under ``mail_dir``."""
        return f"""# mailsuite bench: generated config ({self.name}), loopback only.
[server]
hostname = "localhost"
state_dir = "{d}/state"
workers = {self.workers}

[tls]
cert = "{d}/tls/cert.pem"
key = "{d}/tls/key.pem"

[mail]
location = "{mail_dir}/%u"

[imap]
listen = ["127.0.0.1:{ports["imap"]}"]
tls_listen = ["127.0.0.1:{free_port()}"]

[pop3]
listen = ["127.0.0.1:{ports["pop3"]}"]
tls_listen = ["127.0.0.1:{free_port()}"]

[lmtp]
listen = ["127.0.0.1:{ports["lmtp"]}"]
socket = "{d}/lmtp.sock"

[sieve]
# The same per-user script path as Dovecot's Pigeonhole; a missing file = no script.
script = "{self.sieve_dir}/%u.sieve"

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
{extra}"""

    def _instances(self) -> list[str]:
        """The directories of this server's mailsuite processes (config, twistd.log)."""
        return [self.dir]

    def _twistd_command(self, d: str) -> list[str]:
        return [
            self._twistd(),
            "-n",
            "--pidfile=",
            "--logfile",
            os.path.join(d, "twistd.log"),
            "mailsuite",
            "--config",
            os.path.join(d, "mailsuite.toml"),
        ]

    def command(self) -> list[str]:
        return self._twistd_command(self.dir)

    def start(self, timeout_s: float = 60.0) -> None:
        for d in self._instances():
            log = os.path.join(d, "twistd.log")
            if os.path.exists(log):  # keep the last run's log, but wait for a fresh "ready"
                os.replace(log, log + ".prev")
        super().start(timeout_s)

    def says_ready(self) -> bool:
        try:
            for d in self._instances():
                with open(os.path.join(d, "twistd.log"), "rb") as f:
                    if b"mailsuite: ready" not in f.read():
                        return False
        except OSError:
            return False
        return True

    def log_tail(self, lines: int = 15) -> str:
        own = super().log_tail(lines)
        for d in self._instances():
            try:
                with open(os.path.join(d, "twistd.log"), "rb") as f:
                    own += f"--- {d}/twistd.log\n"
                    own += b"".join(f.readlines()[-lines:]).decode("utf-8", "replace")
            except OSError:
                pass
        return own


class MailsuiteWorkers2(Mailsuite):
    """mailsuite with ``[server] workers = 2``: a master and two worker processes."""

    name = "mailsuite-2w"
    workers = 2


class MailsuiteProxy(Mailsuite):
    """A mailsuite login front end proxying every user to a mailsuite backend process.

    The front end (``[proxy] enabled``, the one backend in ``[proxy] backends``)
    owns the IMAP and POP3 ports the workloads use; LMTP goes to the backend
    directly (the front end does not proxy LMTP). The two processes run under
    ``bench/servers/pair.py`` so their memory is measured together. Compared
    with ``mailsuite`` it shows what the front end costs: per-command latency
    through the relay, and login time with the backend login added.
    """

    name = "mailsuite-proxy"

    def _instances(self) -> list[str]:
        return [self.dir, os.path.join(self.dir, "backend")]

    def _write_configs(self, users: str) -> None:
        backend = os.path.join(self.dir, "backend")
        os.makedirs(backend)
        ports = {"imap": free_port(BACKEND_HOST), "pop3": free_port(BACKEND_HOST)}
        ports["lmtp"] = self.ports["lmtp"]
        trust = '\n[proxy]\ntrusted_networks = ["127.0.0.0/8"]  # the front end\n'
        conf = self._config(backend, self.mail_dir, users, ports, trust)
        # The backend's IMAP and POP3 listen on 127.0.0.2 (loopback too): a hashed
        # destination equal to the address the client reached the front end on is
        # served by the front end itself (Dovecot's proxy_maybe), never proxied.
        for proto in ("imap", "pop3"):
            conf = conf.replace(f'"127.0.0.1:{ports[proto]}"', f'"{BACKEND_HOST}:{ports[proto]}"')
        with open(os.path.join(backend, "mailsuite.toml"), "w") as f:
            f.write(conf)
        front = f"""
[proxy]
enabled = true
imap_listen = ["127.0.0.1:{self.ports["imap"]}"]
imap_tls_listen = ["127.0.0.1:{free_port()}"]
pop3_listen = ["127.0.0.1:{self.ports["pop3"]}"]
pop3_tls_listen = ["127.0.0.1:{free_port()}"]
backends = ["{BACKEND_HOST}"]
backend_imap_port = {ports["imap"]}
backend_pop3_port = {ports["pop3"]}
"""
        # The front end's own services listen on spare ports and hold no mail.
        own = {p: free_port() for p in PROTOCOLS}
        with open(os.path.join(self.dir, "mailsuite.toml"), "w") as f:
            f.write(self._config(self.dir, os.path.join(self.dir, "no-mail"), users, own, front))

    def command(self) -> list[str]:
        backend = os.path.join(self.dir, "backend")
        return [
            sys.executable,
            os.path.join(os.path.dirname(os.path.abspath(__file__)), "pair.py"),
            os.path.join(backend, "stdout.log"),
            *self._twistd_command(backend),
            "--",
            os.path.join(self.dir, "front-stdout.log"),
            *self._twistd_command(self.dir),
        ]
