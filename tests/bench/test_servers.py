"""Server start-up: what answers is measured, what is silent is skipped with a reason."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from bench.procs import RssSampler, tree_rss_bytes
from bench.seed import Manifest
from bench.servers.base import Server, ServerStartError

# A real process that greets on the IMAP port only (as mailsuite did while POP3 was unbuilt).
GREETER = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
while True:
    c, _ = s.accept(); c.sendall(b"* OK ready\\r\\n"); c.close()
"""


class _ImapOnly(Server):
    name = "imap-only"

    def unavailable(self) -> str | None:
        return None

    def prepare(self, template_root: str, manifest: Manifest) -> None:
        os.makedirs(self.dir, exist_ok=True)

    def command(self) -> list[str]:
        return [sys.executable, "-c", GREETER, str(self.ports["imap"])]


class _Unbuilt(_ImapOnly):
    name = "unbuilt"
    optional = ("pop3", "lmtp")


def test_silent_optional_services_are_skipped(tmp_path: Path) -> None:
    """Optional protocols that never greet are reported as not built, the rest are measured."""
    server = _Unbuilt(str(tmp_path))
    server.start(timeout_s=20)
    try:
        assert server.listening == {"imap"}
        assert server.skip_reasons == {
            "pop3": "service not built yet",
            "lmtp": "service not built yet",
        }
        assert server.rss_bytes() > 0
    finally:
        server.stop()


def test_a_silent_required_service_stops_the_run(tmp_path: Path) -> None:
    """A peer whose required protocol never greets fails start-up with a clear message."""
    server = _ImapOnly(str(tmp_path))
    with pytest.raises(ServerStartError, match=r"imap-only: pop3 did not answer on 127\.0\.0\.1"):
        server.start(timeout_s=2)
    assert server.proc is None  # and it was stopped


def test_rss_covers_the_whole_process_tree(tmp_path: Path) -> None:
    """The sampled RSS of a tree includes its children and keeps the peak."""
    import subprocess

    child = subprocess.Popen(
        [sys.executable, "-c", "import time; x = b'x' * 50_000_000; time.sleep(30)"]
    )
    try:
        time.sleep(1.0)
        sampler = RssSampler(os.getpid(), 0.05).start()
        time.sleep(0.3)
        peak = sampler.stop()
        assert tree_rss_bytes(os.getpid()) > 50_000_000
        assert peak > 50_000_000
    finally:
        child.kill()
        child.wait()


def test_the_proxy_configuration_relays_to_its_backend(request: pytest.FixtureRequest) -> None:
    """mailsuite-proxy's front end proxies IMAP and POP3 logins to the backend process."""
    import asyncio
    import shutil
    import tempfile

    from bench.client.imap import ImapClient
    from bench.client.pop3 import Pop3Client
    from bench.seed import Profile, load_or_seed
    from bench.servers.mailsuite_server import MailsuiteProxy

    # Not tmp_path: its length would overflow the LMTP Unix socket's path (108 bytes).
    root = Path(tempfile.mkdtemp(prefix="msbench-proxy-"))
    request.addfinalizer(lambda: shutil.rmtree(root, ignore_errors=True))
    server = MailsuiteProxy(str(root / "run"))
    reason = server.unavailable()
    if reason:
        pytest.skip(reason)
    template, manifest = load_or_seed(
        str(root), Profile(users=1, inbox=5, medium=5, big=5, sinks=1)
    )

    async def go() -> tuple[int, int]:
        c = await ImapClient.connect(server.ports["imap"])
        await c.login("user00", manifest.passwords["user00"])
        await c.select("INBOX")
        await c.logout()
        p = await Pop3Client.connect(server.ports["pop3"])
        await p.login("user00", manifest.passwords["user00"])
        sizes = await p.listing("LIST")
        await p.quit()
        return c.exists, len(sizes)

    server.prepare(template, manifest)
    server.start()
    try:
        assert server.listening == {"imap", "pop3", "lmtp"}
        assert asyncio.run(go()) == (5, 5)
    finally:
        server.stop()
    front = (root / "run" / "mailsuite-proxy" / "twistd.log").read_text()
    backend = (root / "run" / "mailsuite-proxy" / "backend" / "twistd.log").read_text()
    assert "imap(user00)" in backend and "pop3(user00)" in backend
    assert "served here" not in front and "imap-login(user00)" in front
