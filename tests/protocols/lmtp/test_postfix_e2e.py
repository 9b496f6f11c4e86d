"""End to end: Postfix accepts over SMTP and delivers over LMTP to mailsuite."""

from __future__ import annotations

import imaplib
import shutil
import smtplib
import tempfile
import time
from pathlib import Path

import pytest

from tests.protocols.lmtp.postfix import PrivatePostfix, postfix_available
from tests.protocols.lmtp.test_server_live import lmtp_server, stored
from tests.support.server import free_port

pytestmark = [
    pytest.mark.external,
    pytest.mark.slow,
    pytest.mark.skipif(not postfix_available(), reason="needs root and Postfix (./dev test)"),
]


def wait_for(predicate, timeout_s: float = 60.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("via", ["tcp", "unix"])
def test_postfix_delivers_over_lmtp(tmp_path: Path, via: str) -> None:
    """Mail sent to Postfix reaches the Maildir over LMTP; an unknown user is bounced by LMTP."""
    overrides = {}
    sock_dir = Path(tempfile.mkdtemp(prefix="mailsuite-lmtp-sock-"))
    sock_dir.chmod(0o755)  # Postfix's lmtp client runs as the postfix user
    socket_path = str(sock_dir / "lmtp.sock")
    if via == "unix":
        overrides = {"lmtp": {"socket": socket_path, "socket_mode": 0o666}}
    with lmtp_server(tmp_path, overrides) as server:
        target = f"inet:127.0.0.1:{server.lmtp_port}" if via == "tcp" else f"unix:{socket_path}"
        smtp_port = free_port()
        postfix = PrivatePostfix(smtp_port, target)
        try:
            postfix.start()
            message = (
                b"From: Carol <carol@example.net>\r\nTo: alice@example.org\r\n"
                b"Subject: through postfix\r\n\r\nHello via Postfix and LMTP.\r\n"
            )
            with smtplib.SMTP("127.0.0.1", smtp_port) as client:
                refused = client.sendmail(
                    "carol@example.net",
                    ["alice@example.org", "bob+tag@example.org", "nobody@example.org"],
                    message,
                )
            assert refused == {}  # Postfix accepts all; the LMTP server decides per recipient
            assert wait_for(lambda: len(stored(server, "alice")) == 1 and stored(server, "bob"))
            assert wait_for(
                lambda: (
                    "to=<nobody@example.org>" in postfix.log_text()
                    and "status=sent (250 2.0.0 <alice@example.org>" in postfix.log_text()
                )
            )
            log = postfix.log_text()
            # Read it back the way the user will: over IMAP.
            with imaplib.IMAP4("127.0.0.1", server.imap_port) as imap:
                imap.login("alice", "alice-pw")
                imap.select("INBOX")
                typ, data = imap.uid("FETCH", "1:*", "(BODY.PEEK[])")
                assert typ == "OK"
                fetched = [part[1] for part in data if isinstance(part, tuple)]
                imap.logout()
        finally:
            postfix.stop()
            shutil.rmtree(sock_dir, ignore_errors=True)
        [alice] = stored(server, "alice")
        [bob] = stored(server, "bob")
    assert b"Subject: through postfix" in alice and alice.endswith(b"Hello via Postfix and LMTP.\n")
    assert alice.startswith(b"Return-Path: <carol@example.net>\nDelivered-To: alice@example.org\n")
    assert b"Delivered-To: bob+tag@example.org\n" in bob
    assert len(fetched) == 1 and fetched[0].replace(b"\r\n", b"\n") == alice
    nobody = next(line for line in log.splitlines() if "to=<nobody@example.org>" in line)
    assert "status=bounced" in nobody and "550 5.1.1" in nobody
