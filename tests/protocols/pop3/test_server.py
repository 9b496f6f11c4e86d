"""POP3 over real sockets through the real twistd server, with poplib and raw sockets."""

from __future__ import annotations

import os
import poplib
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.protocols.pop3.conftest import require_backends
from tests.support.server import RunningServer, start_server

MSG = b"From: a@example.org\nSubject: hello\n\nbody line\n.starts with a dot\n"


def deliver(server: RunningServer, data: bytes, user: str = "alice") -> int:
    """Deliver straight into the store, as another process (LMTP, IMAP APPEND) would."""
    from mailsuite.store.maildir import open_user_store

    mailbox = open_user_store(server.mail_root(user), user=user).open_mailbox("INBOX")
    try:
        return int(mailbox.append(data))
    finally:
        mailbox.close()


def inbox_uids(server: RunningServer, user: str = "alice") -> list[int]:
    from mailsuite.store.maildir import open_user_store

    mailbox = open_user_store(server.mail_root(user), user=user).open_mailbox("INBOX")
    try:
        return [m.uid for m in mailbox.snapshot().messages]
    finally:
        mailbox.close()


def client_tls(server: RunningServer) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=os.path.join(server.base_dir, "var/tls/cert.pem"))
    context.check_hostname = False  # the certificate names "localhost", we dial 127.0.0.1
    return context


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One real server for this module's tests (each test uses its own user mail)."""
    require_backends()
    users = {f"u{i}": f"pw{i}" for i in range(20)} | {"alice": "alice-pw", "bob": "bob-pw"}
    with start_server(tmp_path_factory.mktemp("pop3srv"), users=users) as running:
        yield running


_next_user = iter(range(20))


@pytest.fixture
def user(server: RunningServer) -> tuple[str, str]:
    """A user of its own for one test, so tests do not see each other's mail."""
    i = next(_next_user)
    return f"u{i}", f"pw{i}"


def raw(server: RunningServer, data: bytes, until: bytes = b"", port: int | None = None) -> bytes:
    """Send bytes on a fresh connection and read until ``until`` appears or the server closes."""
    with socket.create_connection(("127.0.0.1", port or server.pop3_port), timeout=30) as s:
        out = s.recv(4096)
        s.sendall(data)
        while until not in out or not until:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
        return out


def test_poplib_session(server: RunningServer, user: tuple[str, str]) -> None:
    """poplib logs in, lists, reads UIDLs, retrieves with dot-stuffing undone, and quits."""
    name, password = user
    uid = deliver(server, MSG, name)
    pop = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
    assert pop.getwelcome().startswith(b"+OK")
    assert "TOP" in pop.capa() and "STLS" in pop.capa()
    pop.user(name)
    pop.pass_(password)
    count, size = pop.stat()
    crlf = MSG.replace(b"\n", b"\r\n")
    assert (count, size) == (1, len(crlf))
    assert pop.list()[1] == [b"1 %d" % len(crlf)]
    assert pop.uidl(1).startswith(b"+OK 1 %08x" % uid)
    _, lines, octets = pop.retr(1)
    assert b"\r\n".join(lines) + b"\r\n" == crlf
    assert lines[-1] == b".starts with a dot"
    _, top, _ = pop.top(1, 0)
    assert top[-1] == b"" and b"Subject: hello" in top
    pop.quit()


def test_pop3s_and_stls(server: RunningServer, user: tuple[str, str]) -> None:
    """POP3S on its own port and STLS on the plain port both carry a full login."""
    name, password = user
    pop = poplib.POP3_SSL("127.0.0.1", server.pop3s_port, context=client_tls(server), timeout=30)
    assert "STLS" not in pop.capa()
    pop.user(name)
    pop.pass_(password)
    assert pop.stat()[0] >= 0
    pop.quit()
    pop = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
    pop.stls(client_tls(server))
    assert "STLS" not in pop.capa()
    pop.user(name)
    pop.pass_(password)
    pop.quit()


def test_pipelined_commands_answered_in_order(server: RunningServer, user: tuple[str, str]) -> None:
    """A whole session sent in one write is answered command by command, in order."""
    name, password = user
    deliver(server, MSG, name)
    out = raw(
        server,
        f"USER {name}\r\nPASS {password}\r\nSTAT\r\nUIDL 1\r\nRETR 1\r\nNOOP\r\nQUIT\r\n".encode(),
        until=b"Logging out.",
    )
    lines = out.split(b"\r\n")
    assert lines[1].startswith(b"+OK") and lines[2].startswith(b"+OK")
    assert lines[3].startswith(b"+OK 1 ")
    assert lines[4].startswith(b"+OK 1 ")
    assert b"\r\n..starts with a dot\r\n.\r\n+OK\r\n+OK Logging out." in out


def test_stls_discards_pipelined_plaintext(server: RunningServer) -> None:
    """Commands pipelined behind STLS are dropped, not run inside TLS (RFC 2595 section 4)."""
    with socket.create_connection(("127.0.0.1", server.pop3_port), timeout=30) as s:
        s.recv(4096)
        s.sendall(b"STLS\r\nCAPA\r\n")
        reply = s.recv(4096)
        assert reply.startswith(b"+OK") and b"Capability" not in reply
        tls = client_tls(server).wrap_socket(s)
        tls.sendall(b"NOOP\r\n")
        assert tls.recv(4096).startswith(b"-ERR NOOP is not valid")


def test_error_paths_over_the_wire(server: RunningServer, user: tuple[str, str]) -> None:
    """Bad state, bad number, unknown command and a too-long line all get -ERR with a reason."""
    name, password = user
    out = raw(
        server,
        b"STAT\r\nFROB\r\n"
        + b"X" * 20000
        + b"\r\n"
        + f"USER {name}\r\nPASS {password}\r\nRETR 99\r\nLIST abc\r\nQUIT\r\n".encode(),
        until=b"Logging out.",
    )
    lines = out.split(b"\r\n")
    assert lines[1] == b"-ERR STAT is not valid in the AUTHORIZATION state"
    assert lines[2] == b"-ERR Unknown command: FROB"
    assert lines[3].startswith(b"-ERR Line too long")
    assert lines[6] == b"-ERR There is no message 99."
    assert lines[7] == b"-ERR Invalid message number: abc"
    log = server.log_text()
    assert "RETR failed: There is no message 99." in log
    assert "STAT: STAT is not valid in the AUTHORIZATION state" in log


def test_in_use_over_two_connections(server: RunningServer, user: tuple[str, str]) -> None:
    """A second POP3 login for a busy maildrop gets -ERR [IN-USE]."""
    name, password = user
    first = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
    first.user(name)
    first.pass_(password)
    second = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
    second.user(name)
    with pytest.raises(poplib.error_proto, match=r"\[IN-USE\]"):
        second.pass_(password)
    first.quit()
    second.user(name)
    second.pass_(password)
    second.quit()


def test_dropped_connection_keeps_mail(server: RunningServer, user: tuple[str, str]) -> None:
    """DELE then a dropped connection deletes nothing; DELE then QUIT deletes."""
    name, password = user
    deliver(server, MSG, name)
    raw(server, f"USER {name}\r\nPASS {password}\r\nDELE 1\r\n".encode(), until=b"deleted")
    # The drop is processed asynchronously: a new login waits for the lock to go.
    pop = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
    pop.user(name)
    for _ in range(600):  # poll for up to a minute on a slow machine
        try:
            pop.pass_(password)
            break
        except poplib.error_proto as e:
            assert b"IN-USE" in e.args[0]
            time.sleep(0.1)
            pop.user(name)
    assert pop.stat()[0] == 1
    pop.dele(1)
    pop.quit()
    assert inbox_uids(server, name) == []


def test_large_message_streams_intact(server: RunningServer, user: tuple[str, str]) -> None:
    """A multi-megabyte message arrives byte for byte, its size matching LIST."""
    name, password = user
    body = b"".join(
        b"%07d .......................................................\n" % i for i in range(60000)
    )
    big = b"Subject: big\n\n" + body
    deliver(server, big, name)
    pop = poplib.POP3("127.0.0.1", server.pop3_port, timeout=60)
    pop.user(name)
    pop.pass_(password)
    size = int(pop.list(1).split()[2])
    _, lines, _ = pop.retr(1)
    data = b"\r\n".join(lines) + b"\r\n"
    assert len(data) == size == len(big.replace(b"\n", b"\r\n"))
    assert data == big.replace(b"\n", b"\r\n")
    pop.quit()


def test_idle_timeout_closes_without_deleting(tmp_path: Path) -> None:
    """An idle client is disconnected with -ERR after [pop3] timeout_s, and its DELE is undone."""
    require_backends()
    with start_server(tmp_path, {"pop3": {"timeout_s": 1.0}}) as srv:
        deliver(srv, MSG)
        out = raw(srv, b"USER alice\r\nPASS alice-pw\r\nDELE 1\r\n")
        assert out.endswith(b"-ERR Disconnected for inactivity.\r\n")
        assert "Disconnected for inactivity" in srv.log_text()
        pop = poplib.POP3("127.0.0.1", srv.pop3_port, timeout=30)
        pop.user("alice")
        pop.pass_("alice-pw")
        assert pop.stat()[0] == 1
        pop.quit()


def test_mail_delivered_by_lmtp_during_a_session_waits(
    server: RunningServer, user: tuple[str, str]
) -> None:
    """Mail that arrives over LMTP while a POP3 session is open shows up in the next session."""
    import smtplib

    name, password = user
    deliver(server, MSG, name)
    pop = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
    pop.user(name)
    pop.pass_(password)
    assert pop.stat()[0] == 1
    with smtplib.LMTP("127.0.0.1", server.lmtp_port, timeout=30) as lmtp:
        lmtp.sendmail("x@example.org", [name], b"Subject: late\r\n\r\nlate\r\n")
    assert pop.stat()[0] == 1
    assert len(pop.uidl()[1]) == 1
    pop.quit()
    pop = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
    pop.user(name)
    pop.pass_(password)
    assert pop.stat()[0] == 2
    pop.quit()


def test_imap_and_pop3_on_one_mailbox(server: RunningServer, user: tuple[str, str]) -> None:
    """IMAP flags set during a POP3 session survive it; POP3's DELE and RETR reach IMAP."""
    import imaplib

    name, password = user
    deliver(server, MSG, name)
    deliver(server, MSG.replace(b"hello", b"second"), name)
    try:
        imap = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=30)
    except ConnectionRefusedError:
        pytest.skip("the IMAP service is not built yet (simulated through the store instead)")
    imap.login(name, password)
    imap.select("INBOX")
    pop = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
    pop.user(name)
    pop.pass_(password)
    imap.store("2", "+FLAGS", "(\\Flagged)")
    pop.retr(2)
    pop.dele(1)
    pop.quit()
    imap.noop()
    assert imap.response("EXPUNGE")[1] == [b"1"]  # POP3's DELE reached the IMAP session
    imap.response("FETCH")  # drop the unsolicited flag updates NOOP carried
    _, data = imap.uid("FETCH", "1:*", "(FLAGS)")
    assert len(data) == 1, data
    assert b"UID 2" in data[0] and b"\\Flagged" in data[0] and b"\\Seen" in data[0]
    imap.logout()


def test_imap_expunge_during_a_pop3_session(server: RunningServer, user: tuple[str, str]) -> None:
    """A message IMAP expunges while POP3 holds the maildrop answers -ERR on RETR; QUIT works."""
    import imaplib

    name, password = user
    deliver(server, MSG, name)
    deliver(server, MSG.replace(b"hello", b"second"), name)
    try:
        imap = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=30)
    except ConnectionRefusedError:
        pytest.skip("the IMAP service is not built yet (simulated through the store instead)")
    pop = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
    pop.user(name)
    pop.pass_(password)
    imap.login(name, password)
    imap.select("INBOX")
    imap.store("1", "+FLAGS", "(\\Deleted)")
    imap.expunge()
    with pytest.raises(poplib.error_proto, match="removed by another session"):
        pop.retr(1)
    assert b"second" in b"\n".join(pop.retr(2)[1])
    pop.dele(2)
    assert pop.quit().startswith(b"+OK")
    imap.noop()
    assert imap.response("EXPUNGE")[1] == [b"1"]
    assert inbox_uids(server, name) == []
    imap.logout()


def test_uidl_stable_after_index_deletion(server: RunningServer, user: tuple[str, str]) -> None:
    """Deleting the index files between sessions changes no UIDL (they come from the UID map)."""
    name, password = user
    for i in range(3):
        deliver(server, MSG.replace(b"hello", b"msg %d" % i), name)

    def uidls() -> list[bytes]:
        pop = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
        pop.user(name)
        pop.pass_(password)
        listing = pop.uidl()[1]
        pop.quit()
        return listing

    before = uidls()
    root = server.mail_root(name)
    removed = [n for n in os.listdir(root) if n.startswith("mailsuite.index")]
    assert removed
    for n in removed:
        os.unlink(os.path.join(root, n))
    assert uidls() == before and len(before) == 3
