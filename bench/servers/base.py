"""What every server under test does: a private directory, start, stop, memory.

A server is started as a child process in its own session, listens on free
loopback ports only, and keeps all its state under its own directory. After
start-up the harness probes each protocol's port for the protocol's greeting:
what answers is measured, what does not is reported as skipped with the
server's reason; nothing is ever assumed to be there.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from abc import ABC, abstractmethod

from bench.procs import free_port, tree_pss_bytes, tree_rss_bytes, wait_for_greeting
from bench.seed import Manifest

__all__ = ["GREETINGS", "PROTOCOLS", "Server", "ServerStartError"]

PROTOCOLS = ("imap", "pop3", "lmtp")
GREETINGS = {"imap": b"* OK", "pop3": b"+OK", "lmtp": b"220"}


class ServerStartError(Exception):
    """The server did not come up; the message names the server, its log and why."""


class Server(ABC):
    """One server under test with a private directory under ``root``.

    Attributes:
        name: the column name in the results, e.g. ``dovecot-tuned``.
        offers: the protocols this server has at all (pymap: IMAP only).
        optional: protocols that may legitimately not listen yet (mailsuite's
            services land one by one); any other silent port is a start error.
        ports: protocol -> TCP port on 127.0.0.1.
        listening: protocols that answered with a greeting after start.
        skip_reasons: protocol -> why a workload on it is skipped.
        sieve_dir: where the user ``u``'s Sieve script is read from
            (``<sieve_dir>/u.sieve``), or None when the server runs no Sieve.
    """

    name: str = ""
    offers: tuple[str, ...] = PROTOCOLS
    optional: tuple[str, ...] = ()
    not_offered_reason: str = "not offered by this server"
    not_listening_reason: str = "service not built yet"

    def __init__(self, root: str) -> None:
        self.dir = os.path.join(root, self.name)
        self.mail_dir = os.path.join(self.dir, "mail")
        self.log_path = os.path.join(self.dir, "server.log")
        self.ports = {p: free_port() for p in PROTOCOLS}
        self.listening: set[str] = set()
        self.skip_reasons: dict[str, str] = {}
        # Operations that timed out (what -> why), kept across rounds so they are not retried.
        self.timed_out: dict[str, str] = {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.sieve_dir: str | None = None

    # -- what each server defines -------------------------------------------

    @abstractmethod
    def unavailable(self) -> str | None:
        """Why this server cannot run on this machine, or None when it can."""

    @abstractmethod
    def prepare(self, template_root: str, manifest: Manifest) -> None:
        """Copy the seeded mail into ``self.mail_dir`` and write the private config."""

    @abstractmethod
    def command(self) -> list[str]:
        """The command line that runs the server in the foreground."""

    def extra_settle(self) -> None:
        """Called once the ports answer; a server may wait for its pre-forked workers."""
        return None

    def says_ready(self) -> bool:
        """True once the server has logged that start-up is complete (if it ever does)."""
        return False

    # -- shared behaviour -----------------------------------------------------

    @property
    def pid(self) -> int:
        assert self.proc is not None, f"{self.name}: not started"
        return self.proc.pid

    def rss_bytes(self) -> int:
        return tree_rss_bytes(self.pid)

    def pss_bytes(self) -> int:
        return tree_pss_bytes(self.pid)

    def start(self, timeout_s: float = 60.0) -> None:
        """Run the server and find out which protocols answer.

        Raises:
            ServerStartError: the process exited, or a protocol it must serve
                did not greet within ``timeout_s``.
        """
        os.makedirs(self.dir, exist_ok=True)
        log = open(self.log_path, "ab")
        log.write(f"\n=== bench: starting {' '.join(self.command())}\n".encode())
        log.flush()
        self.proc = subprocess.Popen(
            self.command(),
            cwd=self.dir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.listening.clear()
        wanted = [p for p in PROTOCOLS if p in self.offers]
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not self.listening and not self.says_ready():
            if self.proc.poll() is not None:
                raise ServerStartError(
                    f"{self.name}: exited with status {self.proc.returncode} during start-up; "
                    f"log {self.log_path}:\n{self.log_tail()}"
                )
            for proto in wanted:
                if wait_for_greeting(self.ports[proto], GREETINGS[proto], 0.2):
                    self.listening.add(proto)
        # All listeners start together; give the rest a moment, then decide.
        for proto in wanted:
            if proto not in self.listening and wait_for_greeting(
                self.ports[proto], GREETINGS[proto], 3.0
            ):
                self.listening.add(proto)
        self.skip_reasons = {p: self.not_offered_reason for p in PROTOCOLS if p not in self.offers}
        for proto in wanted:
            if proto in self.listening:
                continue
            if proto in self.optional:
                self.skip_reasons[proto] = self.not_listening_reason
            else:
                self.stop()
                raise ServerStartError(
                    f"{self.name}: {proto} did not answer on 127.0.0.1:{self.ports[proto]} "
                    f"within {timeout_s:.0f}s; log {self.log_path}:\n{self.log_tail()}"
                )
        self.extra_settle()

    def stop(self, timeout_s: float = 20.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL to its own process group)."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        # Dovecot's children exit after the master; wait so the next server starts clean.
        time.sleep(0.3)

    def log_tail(self, lines: int = 15) -> str:
        try:
            with open(self.log_path, "rb") as f:
                return b"".join(f.readlines()[-lines:]).decode("utf-8", "replace")
        except OSError:
            return "(no log)"
