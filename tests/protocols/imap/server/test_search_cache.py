"""SEARCH and SORT answer header keys from the store's header cache (issue 4), real server."""

from __future__ import annotations

import glob
import os

from tests.support.server import RunningServer

from .conftest import Raw, crlf, deliver

MESSAGE = crlf(
    b"From: Carol <carol@example.org>\n"
    b"To: alice@example.org\n"
    b"Subject: alpha-marker report\n"
    b"Date: Mon, 23 Nov 2026 10:00:00 +0000\n"
    b"Message-ID: <cache-1@example.org>\n"
    b"\n"
    b"body\n"
)


def _rewrite_subject(server: RunningServer, user: str) -> None:
    """Change the Subject inside the message file, keeping its size and times.

    Maildir files never change after delivery, so the index may trust its
    cache; a search that still finds the old Subject read the cache, not the file.
    """
    paths = glob.glob(os.path.join(server.mail_root(user), "cur", "*")) + glob.glob(
        os.path.join(server.mail_root(user), "new", "*")
    )
    assert len(paths) == 1, paths
    path = paths[0]
    st = os.stat(path)
    with open(path, "rb") as f:
        data = f.read()
    assert b"alpha-marker" in data
    with open(path, "r+b") as f:
        f.write(data.replace(b"alpha-marker", b"omega-marker"))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def _selected(server: RunningServer, user: tuple[str, str]) -> Raw:
    client = Raw(server.imap_port)
    client.login(*user)
    assert b"S OK" in client.cmd(b"S", b"SELECT INBOX")
    return client


def test_search_header_key_reads_the_cache(server: RunningServer, user: tuple[str, str]) -> None:
    """SEARCH SUBJECT matches what the store cached for the message, not the file read again."""
    deliver(server, MESSAGE, user[0])
    client = _selected(server, user)
    try:
        assert client.cmd(b"A", b"SEARCH SUBJECT alpha-marker").startswith(b"* SEARCH 1\r\n")
        _rewrite_subject(server, user[0])
        reply = client.cmd(b"B", b"SEARCH SUBJECT alpha-marker")
        assert reply.startswith(b"* SEARCH 1\r\nB OK"), reply
        reply = client.cmd(b"C", b"UID SEARCH HEADER Message-ID cache-1")
        assert reply.startswith(b"* SEARCH 1\r\nC OK"), reply
    finally:
        client.close()


def test_sort_search_program_reads_the_cache(server: RunningServer, user: tuple[str, str]) -> None:
    """The search program of SORT matches header keys from the cache as SEARCH does."""
    deliver(server, MESSAGE, user[0])
    client = _selected(server, user)
    try:
        assert client.cmd(b"A", b"SEARCH SUBJECT alpha-marker").startswith(b"* SEARCH 1\r\n")
        _rewrite_subject(server, user[0])
        reply = client.cmd(b"B", b"SORT (DATE) UTF-8 SUBJECT alpha-marker")
        assert reply.startswith(b"* SORT 1\r\nB OK"), reply
    finally:
        client.close()
