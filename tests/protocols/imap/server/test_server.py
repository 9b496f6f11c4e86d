"""The IMAP server protocol over a raw socket: framing, literals, limits, pipelining, bytes."""

from __future__ import annotations

import re

from tests.support.server import RunningServer

from .conftest import Raw, crlf, deliver

MSG = b"From: a@example.org\nSubject: raw\n\nbody\n"


def test_greeting_exact(raw: Raw) -> None:
    """The greeting is one untagged OK with the capability code."""
    greeting = raw.line()
    assert re.fullmatch(rb"\* OK \[CAPABILITY IMAP4rev1 [^\]]*\] mailsuite ready\.\r\n", greeting)


def test_pipelined_commands_answered_in_order(raw: Raw, user: tuple[str, str]) -> None:
    """Several commands in one write are answered one after another, in order."""
    name, password = user
    raw.line()
    raw.send(
        b"a1 LOGIN %s %s\r\na2 NOOP\r\na3 SELECT INBOX\r\na4 CAPABILITY\r\na5 LOGOUT\r\n"
        % (name.encode(), password.encode())
    )
    tags = [ln.split(b" ", 1)[0] for ln in raw.until(b"a5").splitlines() if not ln.startswith(b"*")]
    assert tags == [b"a1", b"a2", b"a3", b"a4", b"a5"]


def test_synchronizing_literal_gets_continuation(raw: Raw, user: tuple[str, str]) -> None:
    """A {n} literal is answered with "+ Ready" before the client sends the octets."""
    name, password = user
    raw.line()
    raw.send(b"a1 LOGIN {%d}\r\n" % len(name))
    assert raw.line() == b"+ Ready for literal data\r\n"
    raw.send(name.encode() + b" " + password.encode() + b"\r\n")
    assert raw.line().startswith(b"a1 OK ")


def test_literal_plus_needs_no_continuation(raw: Raw, user: tuple[str, str]) -> None:
    """A {n+} literal (RFC 7888) is read without a continuation request."""
    name, password = user
    raw.login(name, password)
    raw.send(b"a1 APPEND INBOX {%d+}\r\n" % len(MSG) + MSG + b"\r\n")
    reply = raw.line()
    assert re.fullmatch(rb"a1 OK \[APPENDUID \d+ 1\] Append completed\.\r\n", reply)


def test_preauth_literal_limit(raw: Raw) -> None:
    """Before login a large literal gets NO [TOOBIG] and the connection goes on."""
    raw.line()
    raw.send(b"a1 LOGIN {1000000}\r\n")
    assert raw.line().startswith(b"a1 NO [TOOBIG] ")
    assert raw.cmd(b"a2", b"NOOP") == b"a2 OK NOOP completed.\r\n"


def test_line_too_long_is_bad_and_session_continues(raw: Raw) -> None:
    """A line over the limit is answered BAD and the next command works."""
    raw.line()
    raw.send(b"a1 NOOP " + b"x" * 70000 + b"\r\n")
    assert raw.line().startswith(b"a1 BAD Command line too long")
    assert raw.cmd(b"a2", b"NOOP") == b"a2 OK NOOP completed.\r\n"


def test_garbage_gets_bad(raw: Raw) -> None:
    """Unknown commands and broken syntax get BAD with a reason, never a dropped connection."""
    raw.line()
    assert raw.cmd(b"a1", b"FROB") == b"a1 BAD Unknown command FROB\r\n"
    assert raw.cmd(b"a2", b"LOGIN").startswith(b"a2 BAD ")
    raw.send(b"\x00\xff\r\n")
    assert raw.line().startswith(b"* BAD ")
    assert raw.cmd(b"a3", b"NOOP") == b"a3 OK NOOP completed.\r\n"


def test_too_many_commands_before_login(raw: Raw) -> None:
    """A client that never logs in is disconnected with BYE after a few commands."""
    raw.line()
    raw.send(b"".join(b"n%d NOOP\r\n" % i for i in range(25)))
    out = b""
    while True:
        ln = raw.line()
        if not ln:
            break
        out += ln
    assert out.endswith(b"* BYE Too many commands before login.\r\n")


def test_copyuid_bytes(raw: Raw, server: RunningServer, user: tuple[str, str]) -> None:
    """COPYUID lists source and destination UIDs in matching order (RFC 4315 3)."""
    name, password = user
    for _ in range(4):
        deliver(server, MSG, name)
    raw.login(name, password)
    raw.cmd(b"c0", b"CREATE Box")
    raw.cmd(b"c1", b"SELECT INBOX")
    raw.cmd(b"c2", b"UID COPY 4 Box")
    reply = raw.cmd(b"c3", b"UID COPY 1,3:4 Box")
    assert re.fullmatch(rb"c3 OK \[COPYUID \d+ 1,3:4 2:4\] Copy completed\.\r\n", reply)


def test_large_fetch_is_streamed_exactly(
    raw: Raw, server: RunningServer, user: tuple[str, str]
) -> None:
    """A 3 MB message comes back byte for byte as one literal of the announced size."""
    name, password = user
    body = b"".join(b"%07d the quick brown fox jumps over the lazy dog\n" % i for i in range(60000))
    data = b"From: a@example.org\nSubject: big\n\n" + body
    deliver(server, data, name)
    raw.login(name, password)
    raw.cmd(b"f0", b"SELECT INBOX")
    reply = raw.cmd(b"f1", b"FETCH 1 (BODY.PEEK[] RFC822.SIZE)")
    expected = crlf(data)
    assert reply.startswith(b"* 1 FETCH (BODY[] {%d}\r\n" % len(expected) + expected)
    assert reply.endswith(b" RFC822.SIZE %d)\r\nf1 OK Fetch completed.\r\n" % len(expected))


def test_logout_closes(raw: Raw) -> None:
    """LOGOUT: BYE, tagged OK, then the server closes the connection."""
    raw.line()
    assert raw.cmd(b"z", b"LOGOUT") == b"* BYE Logging out\r\nz OK Logout completed.\r\n"
    assert raw.line() == b""


def test_expunge_numbers_across_sessions(server: RunningServer, user: tuple[str, str]) -> None:
    """Two sessions expunging the same mailbox each get correct, decreasing sequence numbers."""
    name, password = user
    for _ in range(5):
        deliver(server, MSG, name)
    a, b = Raw(server.imap_port), Raw(server.imap_port)
    try:
        a.login(name, password)
        b.login(name, password)
        a.cmd(b"a1", b"SELECT INBOX")
        b.cmd(b"b1", b"SELECT INBOX")
        a.cmd(b"a2", b"STORE 2,4 +FLAGS.SILENT (\\Deleted)")
        assert b.cmd(b"b2", b"EXPUNGE") == (
            b"* 2 EXPUNGE\r\n* 3 EXPUNGE\r\nb2 OK Expunge completed.\r\n"
        )
        b.cmd(b"b3", b"STORE 1 +FLAGS.SILENT (\\Deleted)")
        # a still numbers 1..5: it hears of 2 and 4 going, then its own expunge of 1.
        reply = a.cmd(b"a3", b"EXPUNGE")
        assert reply == b"* 1 EXPUNGE\r\n* 1 EXPUNGE\r\n* 2 EXPUNGE\r\na3 OK Expunge completed.\r\n"
        assert a.cmd(b"a4", b"FETCH 1:* UID") == (
            b"* 1 FETCH (UID 3)\r\n* 2 FETCH (UID 5)\r\na4 OK Fetch completed.\r\n"
        )
    finally:
        a.close()
        b.close()


def test_internal_error_answered_and_logged(
    raw: Raw, server: RunningServer, user: tuple[str, str]
) -> None:
    """A failure inside the server answers NO [SERVERBUG], logs it, and keeps the session."""
    import glob
    import os

    name, password = user
    deliver(server, MSG, name)
    raw.login(name, password)
    raw.cmd(b"e0", b"SELECT INBOX")
    root = server.mail_root(name)
    (path,) = glob.glob(os.path.join(root, "new", "*")) + glob.glob(os.path.join(root, "cur", "*"))
    os.unlink(path)
    os.mkdir(path)
    reply = raw.cmd(b"e1", b"FETCH 1 BODY.PEEK[]")
    assert reply == b"e1 NO [SERVERBUG] Internal error occurred. Refer to server log.\r\n"
    assert raw.cmd(b"e2", b"NOOP") == b"e2 OK NOOP completed.\r\n"
    assert f"imap({name})<" in server.log_text()
    assert "FETCH failed with an internal error" in server.log_text()


def test_authenticate_plain_over_socket(raw: Raw, user: tuple[str, str]) -> None:
    """AUTHENTICATE PLAIN works with SASL-IR and with a continuation round trip."""
    import base64

    name, password = user
    raw.line()
    creds = base64.b64encode(b"\x00" + name.encode() + b"\x00" + password.encode())
    raw.send(b"p1 AUTHENTICATE PLAIN\r\n")
    assert raw.line() == b"+ \r\n"
    raw.send(creds + b"\r\n")
    assert raw.line().startswith(b"p1 OK [CAPABILITY IMAP4rev1 ")
    other = Raw(raw.sock.getpeername()[1])
    try:
        other.line()
        assert other.cmd(b"p2", b"AUTHENTICATE PLAIN " + creds).startswith(b"p2 OK ")
    finally:
        other.close()


def test_cram_md5_with_imaplib(server: RunningServer, user: tuple[str, str]) -> None:
    """imaplib's CRAM-MD5 login goes through the SASL exchange over the socket."""
    import imaplib

    m = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=20)
    try:
        assert m.login_cram_md5(*user)[0] == "OK"
        assert m.select("INBOX")[0] == "OK"
    finally:
        m.logout()


def test_nonsync_literal_over_limit_closes(raw: Raw) -> None:
    """A {n+} literal over the limit is already on its way: BYE [TOOBIG] and close (RFC 7888 4)."""
    raw.line()
    raw.send(b"a1 LOGIN {2000000+}\r\n")
    assert raw.line().startswith(b"* BYE [TOOBIG] ")
    assert raw.line() == b""


def test_logout_logged_with_traffic(server: RunningServer, user: tuple[str, str]) -> None:
    """The log names the session, the user and the traffic when the client logs out."""
    client = Raw(server.imap_port)
    try:
        client.login(*user)
        client.cmd(b"z", b"LOGOUT")
    finally:
        client.close()
    assert re.search(rf"imap\({user[0]}\)<\w+>: Logged out in=\d+ out=\d+", server.log_text())


def test_hostile_bytes_never_break_the_session(raw: Raw) -> None:
    """Broken literals, stray parentheses and binary junk get BAD answers; the session lives on."""
    raw.line()
    junk = [
        b"a1 LOGIN (\r\n",
        b"a2 FETCH 1:* (BODY[\r\n",
        b'a3 LIST "unterminated\r\n',
        b")))\r\n",
        b"a4 UID FROB 1\r\n",
        b"\x80\x81\x82 \xff\r\n",
    ]
    for line in junk:
        raw.send(line)
        answer = raw.line()
        assert b" BAD " in answer, (line, answer)
    assert raw.cmd(b"a5", b"NOOP") == b"a5 OK NOOP completed.\r\n"
