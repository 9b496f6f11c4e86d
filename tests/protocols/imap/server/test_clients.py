"""Real clients (stdlib imaplib, imapclient) against the real server over real sockets."""

from __future__ import annotations

import imaplib
import re

import imapclient

from tests.support.server import RunningServer

from .conftest import crlf, deliver

MSG = b"From: a@example.org\nTo: b@example.org\nSubject: hello\n\nbody line\n"


def test_imaplib_full_cycle(server: RunningServer, user: tuple[str, str]) -> None:
    """imaplib: login, select, fetch, store, expunge, append, list, status, create, logout."""
    name, password = user
    deliver(server, MSG, name)
    m = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=20)
    assert "STARTTLS" in m.capabilities
    m.login(name, password)
    typ, data = m.select("INBOX")
    assert (typ, data) == ("OK", [b"1"])
    typ, data = m.fetch("1", "(UID FLAGS RFC822.SIZE BODY.PEEK[])")
    assert typ == "OK"
    assert data[0][1] == crlf(MSG)
    assert b"RFC822.SIZE %d" % len(crlf(MSG)) in data[0][0]
    typ, data = m.store("1", "+FLAGS", r"(\Deleted)")
    assert typ == "OK" and b"\\Deleted" in data[0]
    typ, data = m.expunge()
    assert (typ, data) == ("OK", [b"1"])
    typ, data = m.append("INBOX", r"(\Seen)", None, MSG)
    assert typ == "OK" and re.match(rb"\[APPENDUID \d+ 2\]", data[0])
    typ, data = m.create("Projects")
    assert typ == "OK"
    typ, data = m.list()
    assert b'(\\HasNoChildren) "." Projects' in data
    typ, data = m.status("INBOX", "(MESSAGES UNSEEN UIDNEXT)")
    assert data == [b"INBOX (MESSAGES 1 UNSEEN 0 UIDNEXT 3)"]
    typ, _ = m.close()
    assert typ == "OK"
    assert m.logout()[0] == "BYE"


def test_imapclient_flags_copy_move(server: RunningServer, user: tuple[str, str]) -> None:
    """imapclient: flags, COPY with COPYUID, MOVE, folder status and UID fetch."""
    name, password = user
    for i in range(3):
        deliver(server, MSG.replace(b"hello", b"hello %d" % i), name)
    with imapclient.IMAPClient("127.0.0.1", port=server.imap_port, ssl=False, timeout=20) as c:
        c.login(name, password)
        assert c.has_capability("UIDPLUS") and c.has_capability("MOVE")
        c.create_folder("Archive2")
        info = c.select_folder("INBOX")
        assert info[b"EXISTS"] == 3 and info[b"UIDNEXT"] == 4
        c.add_flags([1, 2], [imapclient.SEEN, b"$Work"])
        flags = c.get_flags([1, 2, 3])
        assert set(flags[1]) == {b"\\Seen", b"$Work", b"\\Recent"}
        assert set(flags[3]) == {b"\\Recent"}
        c.copy([2, 3], "Archive2")
        c.move([1], "Archive2")
        assert sorted(c.fetch([1, 2, 3], ["FLAGS"])) == [2, 3]
        status = c.folder_status("Archive2", ["MESSAGES", "UNSEEN"])
        assert status == {b"MESSAGES": 3, b"UNSEEN": 1}
        envelope = c.fetch([2], ["ENVELOPE"])[2][b"ENVELOPE"]
        assert envelope.subject == b"hello 1"
        folders = [f[2] for f in c.list_folders()]
        assert "INBOX" in folders and "Archive2" in folders


def test_imapclient_idle_sees_append_from_other_session(
    server: RunningServer, user: tuple[str, str]
) -> None:
    """An APPEND by another session shows up in an IDLE-ing imapclient within about a second."""
    name, password = user
    with imapclient.IMAPClient("127.0.0.1", port=server.imap_port, ssl=False, timeout=20) as c:
        c.login(name, password)
        c.select_folder("INBOX")
        c.idle()
        with imapclient.IMAPClient("127.0.0.1", port=server.imap_port, ssl=False) as other:
            other.login(name, password)
            other.append("INBOX", MSG)
        responses = c.idle_check(timeout=5)
        c.idle_done()
        assert (1, b"EXISTS") in responses
