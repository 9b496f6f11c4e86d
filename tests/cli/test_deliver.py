"""Tests for ``mailsuite deliver`` (the LDA) run as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from mailsuite.store.maildir import open_user_store
from tests.support.server import RunningServer, write_config

MESSAGE = b"From: carol@example.net\nSubject: piped\n\nHello by pipe.\n"


def setup(tmp_path: Path, overrides: dict | None = None) -> RunningServer:
    server = write_config(tmp_path, overrides)
    home = tmp_path / "home" / "alice"
    home.mkdir(parents=True)
    (tmp_path / "etc" / "users").write_text(
        f"alice:{{PLAIN}}pw::::{home}::\ntiny:{{PLAIN}}pw::::::userdb_quota_rule=*:storage=10B\n"
    )
    return server


def run(
    server: RunningServer, *args: str, data: bytes = MESSAGE
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "mailsuite.cli.main", "-c", server.config_path, "deliver", *args],
        input=data,
        capture_output=True,
        cwd=server.base_dir,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )


def inbox(server: RunningServer, user: str, mailbox: str = "INBOX") -> list[bytes]:
    store = open_user_store(server.mail_root(user), user=user)
    box = store.open_mailbox(mailbox)
    try:
        out = []
        for rec in box.snapshot().messages:
            with box.open_message(rec.uid) as f:
                out.append(f.read())
        return out
    finally:
        box.close()


def test_delivers_stdin_and_exits_0(tmp_path: Path) -> None:
    """A piped message is stored with Return-Path and Delivered-To, in the input's LF line ends."""
    server = setup(tmp_path)
    proc = run(server, "-d", "alice", "-f", "carol@example.net", "-a", "alice@example.org")
    assert proc.returncode == 0, proc.stderr.decode()
    [msg] = inbox(server, "alice")
    assert msg == (b"Return-Path: <carol@example.net>\nDelivered-To: alice@example.org\n" + MESSAGE)


def test_mbox_from_line_is_dropped_and_gives_the_sender(tmp_path: Path) -> None:
    """A leading mbox "From " line is removed and used as the envelope sender when -f is absent."""
    server = setup(tmp_path)
    proc = run(
        server, "-d", "alice", data=b"From dave@example.com Mon Jan 1 00:00:00 2024\n" + MESSAGE
    )
    assert proc.returncode == 0, proc.stderr.decode()
    [msg] = inbox(server, "alice")
    assert msg.startswith(b"Return-Path: <dave@example.com>\nDelivered-To: alice\n")
    assert msg.endswith(MESSAGE)


def test_unknown_user_exits_67(tmp_path: Path) -> None:
    """An unknown user exits EX_NOUSER (67) with a message on stderr."""
    proc = run(setup(tmp_path), "-d", "nobody")
    assert proc.returncode == 67
    assert b"nobody" in proc.stderr and b"doesn't exist" in proc.stderr


def test_quota_full_exits_69_or_75(tmp_path: Path) -> None:
    """Over quota exits 69 (permanent) by default and 75 (EX_TEMPFAIL) with quota_full_tempfail."""
    proc = run(setup(tmp_path), "-d", "tiny")
    assert proc.returncode == 69, proc.stderr.decode()
    assert b"5.2.2" in proc.stderr
    proc = run(setup(tmp_path / "t2", {"lmtp": {"quota_full_tempfail": True}}), "-d", "tiny")
    assert proc.returncode == 75, proc.stderr.decode()


def test_sieve_script_and_detail_apply(tmp_path: Path) -> None:
    """The user's Sieve script runs for piped mail and sees the -a address's detail."""
    server = setup(tmp_path)
    (tmp_path / "home" / "alice" / ".dovecot.sieve").write_text(
        'require ["fileinto", "envelope", "subaddress", "mailbox"];\n'
        'if envelope :detail "to" "news" { fileinto :create "News"; }\n'
    )
    proc = run(server, "-d", "alice", "-a", "alice+news@example.org", "-f", "x@y.z")
    assert proc.returncode == 0, proc.stderr.decode()
    assert len(inbox(server, "alice", "News")) == 1
    assert inbox(server, "alice") == []


def test_bad_config_exits_75(tmp_path: Path) -> None:
    """A broken config is a temporary failure (75): the MTA keeps the mail until it is fixed."""
    server = setup(tmp_path)
    Path(server.config_path).write_text("[lmtp]\nnope = 1\n")
    proc = run(server, "-d", "alice")
    assert proc.returncode == 75 and b"nope" in proc.stderr


def test_broken_sieve_script_keeps_and_is_reported_on_stderr(tmp_path: Path) -> None:
    """A script that does not compile keeps the mail and names file and line on stderr."""
    server = setup(tmp_path)
    script = tmp_path / "home" / "alice" / ".dovecot.sieve"
    script.write_text('require "fileinto";\nif header :is "subject" {\n')
    proc = run(server, "-d", "alice", "-f", "x@y.z")
    assert proc.returncode == 0, proc.stderr.decode()
    assert len(inbox(server, "alice")) == 1
    assert f"{script}:".encode() in proc.stderr
