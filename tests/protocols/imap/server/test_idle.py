"""IDLE over real sockets: pushes from LMTP, other sessions and external Maildir changes."""

from __future__ import annotations

import os
import smtplib
import time

from tests.support.server import RunningServer

from .conftest import Raw, deliver

MSG = b"From: a@example.org\r\nSubject: idle\r\n\r\nbody\r\n"


def idle(server: RunningServer, user: tuple[str, str]) -> Raw:
    name, password = user
    client = Raw(server.imap_port)
    client.login(name, password)
    client.cmd(b"s", b"SELECT INBOX")
    client.send(b"i IDLE\r\n")
    assert client.line() == b"+ idling\r\n"
    return client


def test_idle_reports_lmtp_delivery(server: RunningServer, user: tuple[str, str]) -> None:
    """A message delivered over LMTP is pushed as EXISTS/RECENT to an IDLE session at once."""
    client = idle(server, user)
    try:
        with smtplib.LMTP("127.0.0.1", server.lmtp_port, timeout=20) as lmtp:
            lmtp.sendmail("x@example.org", [user[0]], MSG)
        pushed = client.wait_for(b"RECENT")
        assert pushed == b"* 1 EXISTS\r\n* 1 RECENT\r\n"
        client.send(b"DONE\r\n")
        assert client.line() == b"i OK Idle completed.\r\n"
    finally:
        client.close()


def test_idle_reports_external_maildir_change(server: RunningServer, user: tuple[str, str]) -> None:
    """A file dropped into new/ by another program is pushed as EXISTS to an IDLE session."""
    deliver(server, MSG, user[0])  # INBOX exists with its directories
    client = idle(server, user)
    try:
        new_dir = os.path.join(server.mail_root(user[0]), "new")
        name = f"{int(time.time())}.M1P{os.getpid()}.external"
        with open(os.path.join(server.mail_root(user[0]), "tmp", name), "wb") as f:
            f.write(MSG)
        os.rename(os.path.join(server.mail_root(user[0]), "tmp", name), os.path.join(new_dir, name))
        assert b"* 2 EXISTS\r\n" in client.wait_for(b"EXISTS")
    finally:
        client.close()


def test_idle_reports_other_sessions(server: RunningServer, user: tuple[str, str]) -> None:
    """Flag changes (FETCH with FLAGS and UID only) and expunges by another session are pushed."""
    deliver(server, MSG, user[0])
    deliver(server, MSG, user[0])
    client = idle(server, user)
    other = Raw(server.imap_port)
    try:
        other.login(*user)
        other.cmd(b"o1", b"SELECT INBOX")
        other.cmd(b"o2", b"STORE 2 +FLAGS.SILENT (\\Flagged)")
        assert client.wait_for(b"FETCH") == b"* 2 FETCH (FLAGS (\\Flagged \\Recent) UID 2)\r\n"
        other.cmd(b"o3", b"STORE 1 +FLAGS.SILENT (\\Deleted)")
        other.cmd(b"o4", b"EXPUNGE")
        pushed = client.wait_for(b"EXPUNGE")
        assert pushed.endswith(b"* 1 EXPUNGE\r\n")
        assert b"FETCH" not in pushed.replace(b"FLAGS (\\Deleted \\Recent) UID 1", b"")
        client.send(b"DONE\r\n")
        assert client.until(b"i").endswith(b"i OK Idle completed.\r\n")
    finally:
        other.close()
        client.close()


def test_noop_reports_lmtp_delivery(server: RunningServer, user: tuple[str, str]) -> None:
    """NOOP after an LMTP delivery reports the new message."""
    client = Raw(server.imap_port)
    try:
        client.login(*user)
        client.cmd(b"s", b"SELECT INBOX")
        with smtplib.LMTP("127.0.0.1", server.lmtp_port, timeout=20) as lmtp:
            lmtp.sendmail("x@example.org", [user[0]], MSG)
        assert client.cmd(b"n", b"NOOP") == b"* 1 EXISTS\r\n* 1 RECENT\r\nn OK NOOP completed.\r\n"
    finally:
        client.close()
