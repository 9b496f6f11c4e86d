"""A front end without backends serves its own users: POP3 continues in-process, IMAP says so."""

from __future__ import annotations

import imaplib
import os
import poplib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import RunningServer, free_port, start_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_front(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[RunningServer, dict[str, int]]]:
    ports = {k: free_port() for k in ("imap", "pop3", "pop3s", "imaps")}
    overrides = {
        "proxy": {
            "enabled": True,
            "imap_listen": [f"127.0.0.1:{ports['imap']}"],
            "imap_tls_listen": [f"127.0.0.1:{ports['imaps']}"],
            "pop3_listen": [f"127.0.0.1:{ports['pop3']}"],
            "pop3_tls_listen": [f"127.0.0.1:{ports['pop3s']}"],
        }
    }
    with start_server(Path(tmp_path_factory.mktemp("local")), overrides) as server:
        yield server, ports


def _deliver(server: RunningServer, user: str, text: str) -> None:
    root = server.mail_root(user)
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    with open(os.path.join(root, "new", f"1.M1P{os.getpid()}.local"), "w") as f:
        f.write(text)


def test_pop3_local_user_continues_in_process(
    local_front: tuple[RunningServer, dict[str, int]],
) -> None:
    """USER/PASS then pipelined STAT and RETR are answered by this process's POP3 service."""
    server, ports = local_front
    _deliver(server, "bob", "Subject: local\n\nserved here\n")
    client = poplib.POP3("127.0.0.1", ports["pop3"], timeout=20)
    client.user("bob")
    assert client.pass_("bob-pw").startswith(b"+OK")
    assert client.stat()[0] == 1
    assert b"served here" in client.retr(1)[1]
    assert client.quit().startswith(b"+OK")
    assert "pop3(bob)" in server.log_text()


def test_imap_local_user_gets_unavailable_until_the_seam_exists(
    local_front: tuple[RunningServer, dict[str, int]],
) -> None:
    """Without an IMAP handover a local IMAP user gets NO [UNAVAILABLE]; the admin a log line."""
    server, ports = local_front
    client = imaplib.IMAP4("127.0.0.1", ports["imap"], timeout=20)
    with pytest.raises(imaplib.IMAP4.error, match="UNAVAILABLE"):
        client.login("bob", "bob-pw")
    client.logout()
    assert "no local imap handover" in server.log_text()
