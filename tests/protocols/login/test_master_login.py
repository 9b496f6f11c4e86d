"""Master-user logins to the backend: how CRAM-MD5 clients (password unseen) get proxied."""

from __future__ import annotations

import imaplib
import poplib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import RunningServer, free_port, launch, write_config

from .conftest import Cluster

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, int, int]]:
    """A backend with a master passdb, and a front end logging in there as alice*proxy."""
    started: list[RunningServer] = []
    try:
        backend = write_config(
            tmp_path_factory.mktemp("master-backend"),
            {
                "passdb": [
                    {"driver": "passwd-file", "path": "etc/users"},
                    {"driver": "passwd-file", "path": "etc/masters", "master": True},
                ]
            },
        )
        (Path(backend.base_dir) / "etc" / "masters").write_text("proxy:{PLAIN}master-pw::::::\n")
        started.append(launch(backend))
        imap_port, pop3_port = free_port(), free_port()
        front = write_config(
            tmp_path_factory.mktemp("master-front"),
            {
                "proxy": {
                    "enabled": True,
                    "imap_listen": [f"127.0.0.1:{imap_port}"],
                    "imap_tls_listen": [],
                    "pop3_listen": [f"127.0.0.1:{pop3_port}"],
                    "pop3_tls_listen": [],
                    "backend_imap_port": backend.imap_port,
                    "backend_pop3_port": backend.pop3_port,
                    "master_user": "proxy",
                    "master_password": "master-pw",
                }
            },
        )
        (Path(front.base_dir) / "etc" / "users").write_text(
            "alice:{PLAIN}alice-pw::::::proxy=y host=127.0.0.1\n"
        )
        started.append(launch(front))
        yield backend, imap_port, pop3_port
    finally:
        for server in started:
            server.stop()


def test_cram_md5_client_is_proxied_as_master(pair: tuple[RunningServer, int, int]) -> None:
    """CRAM-MD5 at the front end; the backend sees a master login for alice."""
    backend, imap_port, _pop3_port = pair
    client = imaplib.IMAP4("127.0.0.1", imap_port, timeout=20)
    assert client.login_cram_md5("alice", "alice-pw")[0] == "OK"
    assert client.select("INBOX")[0] == "OK"
    client.logout()
    assert "imap(alice,127.0.0.1)" in backend.log_text()
    assert "master=proxy" in backend.log_text()


def test_pop3_user_pass_is_proxied_as_master(pair: tuple[RunningServer, int, int]) -> None:
    """With master_user set, even USER/PASS logins use alice*proxy at the backend."""
    backend, _imap_port, pop3_port = pair
    client = poplib.POP3("127.0.0.1", pop3_port, timeout=20)
    client.user("alice")
    assert client.pass_("alice-pw").startswith(b"+OK")
    client.quit()
    assert "pop3(alice,127.0.0.1)" in backend.log_text()


def test_cram_md5_without_master_is_refused_with_a_reason(cluster: Cluster) -> None:
    """Without master_user a CRAM-MD5 login cannot be replayed at the backend; the log says why."""
    client = imaplib.IMAP4("127.0.0.1", cluster.front_ports["imap"], timeout=30)
    with pytest.raises(imaplib.IMAP4.error, match="UNAVAILABLE"):
        client.login_cram_md5("alice", "alice-pw")
    client.logout()
    assert "gives no password to log in to the backend with" in cluster.front.log_text()
