"""LMTP against the real server (twistd subprocess) over real loopback and Unix sockets."""

from __future__ import annotations

import contextlib
import shutil
import smtplib
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mailsuite.store.maildir import open_user_store
from tests.protocols.lmtp.client import RawLmtp
from tests.support.server import RunningServer, launch, write_config

MESSAGE = (
    b"From: carol@example.net\r\nSubject: hello\r\nMessage-ID: <x1@example.net>\r\n\r\nHi!\r\n"
)


@contextlib.contextmanager
def lmtp_server(tmp_path: Path, overrides: dict[str, Any] | None = None) -> Iterator[RunningServer]:
    """A server whose users have homes (for Sieve) and carol a 2000-byte quota."""
    server = write_config(tmp_path, overrides)
    homes = tmp_path / "home"
    lines = []
    for user, pw in [("alice", "alice-pw"), ("bob", "bob-pw"), ("carol", "carol-pw")]:
        (homes / user).mkdir(parents=True)
        extra = "userdb_quota_rule=*:storage=2000B" if user == "carol" else ""
        lines.append(f"{user}:{{PLAIN}}{pw}::::{homes / user}::{extra}\n")
    (tmp_path / "etc" / "users").write_text("".join(lines))
    launch(server)
    try:
        yield server
    finally:
        server.stop()


def stored(server: RunningServer, user: str, mailbox: str = "INBOX") -> list[bytes]:
    store = open_user_store(server.mail_root(user), user=user)
    box = store.open_mailbox(mailbox)
    try:
        out = []
        for rec in box.snapshot().messages:
            with box.open_message(rec.uid) as f:
                out.append(f.read().replace(b"\r\n", b"\n"))
        return out
    finally:
        box.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    with lmtp_server(tmp_path) as s:
        yield s


def test_smtplib_delivery_adds_trace_headers(server: RunningServer) -> None:
    """smtplib.LMTP delivers into INBOX; the copy starts with Return-Path and Delivered-To."""
    with smtplib.LMTP("127.0.0.1", server.lmtp_port) as client:
        code, caps = client.ehlo("mta.test")
        assert code == 250
        for ext in (b"PIPELINING", b"ENHANCEDSTATUSCODES", b"8BITMIME", b"CHUNKING", b"SIZE"):
            assert ext in caps
        assert client.sendmail("carol@example.net", ["alice@example.org"], MESSAGE) == {}
    [msg] = stored(server, "alice")
    assert msg.startswith(b"Return-Path: <carol@example.net>\nDelivered-To: alice@example.org\n")
    assert msg.endswith(MESSAGE.replace(b"\r\n", b"\n"))


def test_pipelined_recipients_with_mixed_outcomes(server: RunningServer) -> None:
    """Unknown and over-quota recipients are refused at RCPT; the others each get their 250."""
    with RawLmtp(server.lmtp_port) as c:
        c.cmd("LHLO mta.test")
        c.send(
            b"MAIL FROM:<carol@example.net> SIZE=2500\r\n"
            b"RCPT TO:<alice@example.org>\r\n"
            b"RCPT TO:<nobody@example.org>\r\n"
            b"RCPT TO:<carol@example.org>\r\n"
            b"RCPT TO:<bob@example.org>\r\n"
            b"RCPT TO:<bad address>\r\n"
            b"DATA\r\n"
        )
        assert c.codes(7) == [
            "250 2.1.0",
            "250 2.1.5",
            "550 5.1.1",
            "552 5.2.2",
            "250 2.1.5",
            "501 5.1.3",
            "354",
        ]
        c.send(MESSAGE + b".\r\n")
        assert c.codes(2) == ["250 2.0.0", "250 2.0.0"]
        assert c.cmd("QUIT")[0] == 221
    assert len(stored(server, "alice")) == 1 and len(stored(server, "bob")) == 1
    assert "rcpt <nobody@example.org>: user unknown" in server.log_text()


def test_quota_exceeded_at_delivery_fails_only_that_recipient(server: RunningServer) -> None:
    """A message too big for carol's quota fails her copy with 552 5.2.2 and spares alice's."""
    big = MESSAGE + b"x" * 3000 + b"\r\n"
    with RawLmtp(server.lmtp_port) as c:
        c.cmd("LHLO mta.test")
        c.send(b"MAIL FROM:<>\r\nRCPT TO:<carol@x.org>\r\nRCPT TO:<alice@x.org>\r\nDATA\r\n")
        assert c.codes(4) == ["250 2.1.0", "250 2.1.5", "250 2.1.5", "354"]
        c.send(big + b".\r\n")
        assert c.codes(2) == ["552 5.2.2", "250 2.0.0"]
    assert stored(server, "carol") == [] and len(stored(server, "alice")) == 1


def test_address_extension_and_sieve_subaddress(server: RunningServer) -> None:
    """user+detail reaches the user, and a Sieve :detail test files it into a folder."""
    script = (
        'require ["fileinto", "envelope", "subaddress", "mailbox"];\n'
        'if envelope :detail "to" "lists" { fileinto :create "Lists"; }\n'
    )
    (Path(server.base_dir) / "home" / "alice" / ".dovecot.sieve").write_text(script)
    with smtplib.LMTP("127.0.0.1", server.lmtp_port) as client:
        client.sendmail("carol@example.net", ["alice+lists@example.org"], MESSAGE)
        client.sendmail("carol@example.net", ["alice+other@example.org"], MESSAGE)
    assert len(stored(server, "alice", "Lists")) == 1
    [inbox] = stored(server, "alice")
    assert b"Delivered-To: alice+other@example.org\n" in inbox


def test_bdat_chunks_and_last(server: RunningServer) -> None:
    """BDAT chunks (RFC 3030), pipelined, make one message; BDAT without recipients is refused."""
    part1 = b"Subject: chunks\r\n\r\n"
    part2 = b".line with a dot\r\n"
    with RawLmtp(server.lmtp_port) as c:
        c.cmd("LHLO mta.test")
        c.send(
            b"MAIL FROM:<a@b.c> BODY=8BITMIME\r\nRCPT TO:<bob@x.org>\r\n"
            + f"BDAT {len(part1)}\r\n".encode()
            + part1
            + f"BDAT {len(part2)} LAST\r\n".encode()
            + part2
        )
        assert c.codes(4) == ["250 2.1.0", "250 2.1.5", "250 2.0.0", "250 2.0.0"]
        c.send(b"MAIL FROM:<a@b.c>\r\nBDAT 3 LAST\r\nabcNOOP\r\n")
        assert c.codes(3) == ["250 2.1.0", "503 5.5.1", "250 2.0.0"]
    [msg] = stored(server, "bob")
    assert msg.endswith(b"Subject: chunks\n\n.line with a dot\n")


def test_bad_commands_and_addresses(server: RunningServer) -> None:
    """Protocol errors get 5xx with enhanced codes and the connection stays usable."""
    with RawLmtp(server.lmtp_port) as c:
        assert c.cmd("EHLO x")[0] == 500
        assert c.cmd("MAIL FROM:<a@b.c>")[0] == 503  # before LHLO
        c.cmd("LHLO mta.test")
        c.send(b"FOO\r\n" + b"NOOP " + b"x" * 5000 + b"\r\n")
        assert c.codes(2) == ["500 5.5.1", "500 5.5.2"]
        c.send(b"MAIL FROM:<no-at-sign@>\r\nMAIL FROM:<a@b.c> SIZE=999999999999\r\n")
        assert c.codes(2) == ["501 5.1.7", "552 5.3.4"]
        c.send(b"MAIL FROM:<a@b.c> XYZ=1\r\nRCPT TO:<a@b.c>\r\nDATA\r\nVRFY alice\r\n")
        assert c.codes(4) == ["555 5.5.4", "503 5.5.1", "503 5.5.1", "502 5.5.1"]
        assert c.cmd("NOOP") == (250, "2.0.0 OK")


def test_unix_socket(server: RunningServer) -> None:
    """The LMTP Unix socket accepts a delivery like the TCP port."""
    with RawLmtp(unix_path=server.lmtp_socket) as c:
        assert c.greeting[0] == 220
        c.cmd("LHLO local")
        c.send(b"MAIL FROM:<>\r\nRCPT TO:<bob>\r\nDATA\r\n")
        assert c.codes(3) == ["250 2.1.0", "250 2.1.5", "354"]
        c.send(MESSAGE + b".\r\n")
        assert c.codes(1) == ["250 2.0.0"]
    assert len(stored(server, "bob")) == 1


@pytest.mark.external
@pytest.mark.skipif(
    shutil.which("swaks") is None, reason="swaks not installed (./dev test installs it)"
)
def test_swaks_with_pipelining(server: RunningServer) -> None:
    """swaks (a real MTA-like client) delivers to two users with PIPELINING over LMTP."""
    proc = subprocess.run(
        [
            "swaks",
            "--protocol",
            "LMTP",
            "--server",
            f"127.0.0.1:{server.lmtp_port}",
            "--from",
            "carol@example.net",
            "--to",
            "alice@example.org,bob@example.org",
            "--pipeline",
            "--header",
            "Subject: via swaks",
        ],
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()
    assert b"Subject: via swaks" in stored(server, "alice")[0]
    assert b"Subject: via swaks" in stored(server, "bob")[0]


@pytest.mark.slow
def test_fifty_megabyte_message(server: RunningServer) -> None:
    """A 50 MB message is accepted for two recipients and stored intact for both."""
    line = b"y" * 98 + b"\r\n"
    count = 50 * 1024 * 1024 // len(line)
    with RawLmtp(server.lmtp_port) as c:
        c.cmd("LHLO mta.test")
        c.send(
            b"MAIL FROM:<a@b.c> SIZE=52428800\r\nRCPT TO:<alice@x>\r\nRCPT TO:<bob@x>\r\nDATA\r\n"
        )
        assert c.codes(4) == ["250 2.1.0", "250 2.1.5", "250 2.1.5", "354"]
        c.send(b"Subject: big\r\n\r\n")
        block = line * 1000
        for _ in range(count // 1000):
            c.send(block)
        c.send(line * (count % 1000) + b".\r\n")
        assert c.codes(2) == ["250 2.0.0", "250 2.0.0"]
    for user in ("alice", "bob"):
        store = open_user_store(server.mail_root(user), user=user)
        box = store.open_mailbox("INBOX")
        [rec] = box.snapshot().messages
        with box.open_message(rec.uid) as f:
            head = f.read(200)
            f.seek(-len(line), 2)
            tail = f.read()
        box.close()
        assert b"Subject: big" in head and tail.replace(b"\r\n", b"\n") == b"y" * 98 + b"\n"
        assert rec.rfc822_size > count * len(line)


def test_over_quota_tempfail_setting(tmp_path: Path) -> None:
    """With quota_full_tempfail the over-quota answer is 452 4.2.2 instead of 552 5.2.2."""
    with lmtp_server(tmp_path, {"lmtp": {"quota_full_tempfail": True}}) as server:
        with RawLmtp(server.lmtp_port) as c:
            c.cmd("LHLO mta.test")
            c.send(b"MAIL FROM:<> SIZE=5000\r\nRCPT TO:<carol@x>\r\n")
            assert c.codes(2) == ["250 2.1.0", "452 4.2.2"]
