"""QUOTA (RFC 9208) through the real server: limits from [quota] and from the userdb quota_rule,
GETQUOTA/GETQUOTAROOT, SETQUOTA refused, APPEND and COPY over quota refused with OVERQUOTA."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import RunningServer, launch, write_config

from .conftest import Raw

MSG = b"From: a@example.org\r\nSubject: quota\r\n\r\n" + b"x" * 998 + b"\r\n"  # 1039 octets


@pytest.fixture(scope="module")
def quota_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server with [quota] messages = 3, storage 100 KiB; bob's userdb says 1 message."""
    base = Path(tmp_path_factory.mktemp("quotasrv"))
    users = {"alice": "alice-pw", "bob": "bob-pw", "carol": "carol-pw"}
    overrides = {"quota": {"messages": 3, "storage_bytes": 100 * 1024}}
    server = write_config(base, overrides, users)
    users_file = base / "etc" / "users"
    text = users_file.read_text().replace(
        "bob:{PLAIN}bob-pw::::::", "bob:{PLAIN}bob-pw::::::userdb_quota_rule=*:messages=1"
    )
    users_file.write_text(text)
    launch(server)
    try:
        yield server
    finally:
        server.stop()


def _client(server: RunningServer, user: str) -> Raw:
    raw = Raw(server.imap_port)
    raw.login(user, server.users[user])
    return raw


def _append(raw: Raw, tag: bytes, mailbox: bytes = b"INBOX") -> bytes:
    raw.send(tag + b" APPEND " + mailbox + b" {%d+}\r\n" % len(MSG) + MSG + b"\r\n")
    return raw.until(tag)


def test_getquotaroot_and_getquota(quota_server: RunningServer) -> None:
    """GETQUOTAROOT names the root "" and its STORAGE (KiB) and MESSAGE usage and limits."""
    raw = _client(quota_server, "alice")
    assert raw.cmd(b"q1", b"GETQUOTAROOT INBOX") == (
        b'* QUOTAROOT INBOX ""\r\n'
        b'* QUOTA "" (STORAGE 0 100 MESSAGE 0 3)\r\n'
        b"q1 OK Getquotaroot completed.\r\n"
    )
    assert _append(raw, b"a1").startswith(b"a1 OK [APPENDUID ")
    assert raw.cmd(b"q2", b'GETQUOTA ""') == (
        b'* QUOTA "" (STORAGE 1 100 MESSAGE 1 3)\r\nq2 OK Getquota completed.\r\n'
    )
    assert raw.cmd(b"q3", b"GETQUOTA other") == (
        b"q3 NO [NONEXISTENT] Quota root does not exist.\r\n"
    )
    assert raw.cmd(b"q4", b"GETQUOTAROOT Nope").startswith(b"q4 NO [NONEXISTENT] ")
    assert raw.cmd(b"q5", b'SETQUOTA "" (STORAGE 1000)') == (
        b"q5 NO [NOPERM] Quota limits are set by the administrator.\r\n"
    )
    raw.close()


def test_append_and_copy_over_quota_fail(quota_server: RunningServer) -> None:
    """Once the message limit is reached APPEND and COPY answer NO [OVERQUOTA]; MOVE, which keeps
    the count, still works."""
    raw = _client(quota_server, "carol")
    assert raw.cmd(b"c1", b"CREATE Other").startswith(b"c1 OK")
    for i in range(3):
        assert _append(raw, b"a%d" % i).startswith(b"a%d OK " % i)
    assert _append(raw, b"a9") == b"a9 NO [OVERQUOTA] Quota exceeded (mailbox for user is full)\r\n"
    raw.cmd(b"s1", b"SELECT INBOX")
    assert raw.cmd(b"p1", b"COPY 1 Other") == (
        b"p1 NO [OVERQUOTA] Quota exceeded (mailbox for user is full)\r\n"
    )
    assert raw.cmd(b"m1", b"MOVE 1 Other").endswith(b"m1 OK Move completed.\r\n")
    assert raw.cmd(b"q1", b'GETQUOTA ""').startswith(b'* QUOTA "" (STORAGE 3 100 MESSAGE 3 3)\r\n')
    raw.close()


def test_userdb_quota_rule_overrides_config(quota_server: RunningServer) -> None:
    """A userdb quota_rule (messages=1) replaces the [quota] message limit for that user."""
    raw = _client(quota_server, "bob")
    assert raw.cmd(b"q1", b"GETQUOTAROOT INBOX").startswith(
        b'* QUOTAROOT INBOX ""\r\n* QUOTA "" (STORAGE 0 100 MESSAGE 0 1)\r\n'
    )
    assert _append(raw, b"a1").startswith(b"a1 OK ")
    assert _append(raw, b"a2").startswith(b"a2 NO [OVERQUOTA] ")
    raw.close()


def test_no_limits_means_no_quota_root(server: RunningServer, user: tuple[str, str]) -> None:
    """A user without any limit has no quota root (RFC 9208 4.3)."""
    raw = Raw(server.imap_port)
    raw.login(*user)
    assert raw.cmd(b"q1", b"GETQUOTAROOT INBOX") == (
        b"* QUOTAROOT INBOX\r\nq1 OK Getquotaroot completed.\r\n"
    )
    assert raw.cmd(b"q2", b'GETQUOTA ""').startswith(b"q2 NO [NONEXISTENT] ")
    raw.close()
