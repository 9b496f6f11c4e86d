"""CONDSTORE and QRESYNC through the real server (RFC 7162): resync after changes elsewhere,
MODSEQ monotonic across an index deletion, two writers at once."""

from __future__ import annotations

import glob
import os
import re

from tests.support.server import RunningServer

from .conftest import Raw, deliver

MSG = b"From: a@example.org\r\nSubject: resync\r\n\r\nbody\r\n"
_FETCH = re.compile(rb"\* (\d+) FETCH \(UID (\d+) FLAGS \(([^)]*)\) MODSEQ \((\d+)\)\)")


def _connect(server: RunningServer, user: tuple[str, str], *enable: bytes) -> Raw:
    raw = Raw(server.imap_port)
    raw.login(*user)
    if enable:
        reply = raw.cmd(b"e", b"ENABLE " + b" ".join(enable))
        assert reply.endswith(b"e OK Enabled.\r\n"), reply
    return raw


def _highest(reply: bytes) -> int:
    m = re.search(rb"\[HIGHESTMODSEQ (\d+)\]", reply)
    assert m is not None, reply
    return int(m.group(1))


def _uidvalidity(reply: bytes) -> int:
    m = re.search(rb"\[UIDVALIDITY (\d+)\]", reply)
    assert m is not None, reply
    return int(m.group(1))


def _server_state(server: RunningServer, user: tuple[str, str]) -> dict[int, frozenset[bytes]]:
    """UID -> flags as a fresh, plain session sees them."""
    raw = _connect(server, user)
    try:
        raw.cmd(b"x1", b"EXAMINE INBOX")
        reply = raw.cmd(b"x2", b"UID FETCH 1:* (FLAGS MODSEQ)")
    finally:
        raw.close()
    out = {}
    for m in re.finditer(rb"\* \d+ FETCH \(UID (\d+) FLAGS \(([^)]*)\) MODSEQ \(\d+\)\)", reply):
        out[int(m.group(1))] = frozenset(m.group(2).split()) - {b"\\Recent"}
    return out


def test_capabilities_advertised(server: RunningServer, user: tuple[str, str]) -> None:
    """After login the server names every extension it implements, APPENDLIMIT with its size."""
    raw = _connect(server, user)
    reply = raw.cmd(b"c1", b"CAPABILITY")
    raw.close()
    for cap in (
        b"CONDSTORE",
        b"QRESYNC",
        b"ESEARCH",
        b"SEARCHRES",
        b"SORT",
        b"THREAD=REFERENCES",
        b"THREAD=ORDEREDSUBJECT",
        b"QUOTA",
        b"STATUS=SIZE",
        b"COMPRESS=DEFLATE",
    ):
        assert b" " + cap + b" " in reply or b" " + cap + b"\r\n" in reply, cap
    assert re.search(rb" APPENDLIMIT=\d+", reply)


def test_qresync_reconnect_ends_with_the_servers_state(
    server: RunningServer, user: tuple[str, str]
) -> None:
    """A client that reconnects with QRESYNC after another session changed flags and expunged
    messages, applying only VANISHED (EARLIER) and FETCH to its cache, has the server's state."""
    for _ in range(8):
        deliver(server, MSG, user[0])
    client = _connect(server, user, b"QRESYNC")
    reply = client.cmd(b"s1", b"SELECT INBOX")
    uidvalidity, modseq = _uidvalidity(reply), _highest(reply)
    fetched = client.cmd(b"f1", b"UID FETCH 1:* (FLAGS MODSEQ)")
    cache = {
        int(m.group(2)): frozenset(m.group(3).split()) - {b"\\Recent"}
        for m in _FETCH.finditer(fetched)
    }
    assert sorted(cache) == list(range(1, 9))
    client.cmd(b"l", b"LOGOUT")
    client.close()

    other = _connect(server, user)
    other.cmd(b"o1", b"SELECT INBOX")
    other.cmd(b"o2", b"UID STORE 2,5,7 +FLAGS.SILENT (\\Seen)")
    other.cmd(b"o3", b"UID STORE 3,6 +FLAGS.SILENT (\\Deleted)")
    other.cmd(b"o4", b"EXPUNGE")
    other.cmd(b"o5", b"UID STORE 7 -FLAGS.SILENT (\\Seen)")
    other.cmd(b"o6", b"UID STORE 8 +FLAGS.SILENT ($Label1)")
    other.cmd(b"l", b"LOGOUT")
    other.close()
    deliver(server, MSG, user[0])  # a new message: learnt from EXISTS/UIDNEXT, not resync

    client = _connect(server, user, b"QRESYNC")
    known = b"1:8"
    reply = client.cmd(b"s2", b"SELECT INBOX (QRESYNC (%d %d %s))" % (uidvalidity, modseq, known))
    assert reply.endswith(b"s2 OK [READ-WRITE] Select completed.\r\n"), reply
    vanished = re.search(rb"\* VANISHED \(EARLIER\) ([\d,:]+)\r\n", reply)
    assert vanished is not None and vanished.group(1) == b"3,6", reply
    for uid in (3, 6):
        del cache[uid]
    for m in _FETCH.finditer(reply):
        cache[int(m.group(2))] = frozenset(m.group(3).split()) - {b"\\Recent"}
    # Only the messages changed since the client's MODSEQ were sent (2, 5, 7, 8).
    assert sorted(int(m.group(2)) for m in _FETCH.finditer(reply)) == [2, 5, 7, 8]
    new = client.cmd(b"f2", b"UID FETCH 9:* (FLAGS MODSEQ)")
    for m in _FETCH.finditer(new):
        cache[int(m.group(2))] = frozenset(m.group(3).split()) - {b"\\Recent"}
    client.close()
    assert cache == _server_state(server, user)


def test_modseq_monotonic_across_index_deletion(
    server: RunningServer, user: tuple[str, str]
) -> None:
    """Deleting the index files loses no MODSEQ: HIGHESTMODSEQ never goes down and the next
    change gets a MODSEQ above every one handed out before (RFC 7162 3.1.1)."""
    for _ in range(3):
        deliver(server, MSG, user[0])
    raw = _connect(server, user)
    raw.cmd(b"s1", b"SELECT INBOX (CONDSTORE)")
    raw.cmd(b"a1", b"STORE 1:3 +FLAGS.SILENT (\\Flagged)")
    status = raw.cmd(b"a2", b"STATUS INBOX (HIGHESTMODSEQ)")
    m = re.match(rb"\* STATUS INBOX \(HIGHESTMODSEQ (\d+)\)\r\n", status)
    assert m is not None, status
    before = int(m.group(1))
    raw.cmd(b"l", b"LOGOUT")
    raw.close()
    removed = glob.glob(os.path.join(server.mail_root(user[0]), "mailsuite.index*"))
    assert removed, os.listdir(server.mail_root(user[0]))
    for path in removed:
        os.unlink(path)

    raw = _connect(server, user)
    after = _highest(raw.cmd(b"s2", b"SELECT INBOX (CONDSTORE)"))
    assert after >= before
    reply = raw.cmd(b"a3", b"STORE 2 -FLAGS (\\Flagged)")
    m = re.search(rb"\* 2 FETCH \(FLAGS \(\) MODSEQ \((\d+)\)\)", reply)
    assert m is not None and int(m.group(1)) > before, reply
    # Every flag survived the rebuild (they live in the file names).
    assert raw.cmd(b"a4", b"SEARCH FLAGGED").startswith(b"* SEARCH 1 3\r\n")
    raw.close()


def test_two_sessions_see_each_others_changes(server: RunningServer, user: tuple[str, str]) -> None:
    """Two CONDSTORE sessions changing flags at once each learn the other's change with the MODSEQ
    the other was told."""
    for _ in range(2):
        deliver(server, MSG, user[0])
    one = _connect(server, user, b"CONDSTORE")
    two = _connect(server, user, b"CONDSTORE")
    one.cmd(b"s", b"SELECT INBOX")
    two.cmd(b"s", b"SELECT INBOX")
    r1 = one.cmd(b"a1", b"STORE 1 +FLAGS (\\Seen)")
    r2 = two.cmd(b"b1", b"STORE 2 +FLAGS (\\Answered)")
    m1 = re.search(rb"\* 1 FETCH \(FLAGS \(\\Seen[^)]*\) MODSEQ \((\d+)\)\)", r1)
    m2 = re.search(rb"\* 2 FETCH \(FLAGS \(\\Answered[^)]*\) MODSEQ \((\d+)\)\)", r2)
    assert m1 is not None and m2 is not None, (r1, r2)
    assert m1.group(1) != m2.group(1)
    # Each learns the other's change (in its STORE's reply or at the NOOP), with its MODSEQ.
    seen_by_one = r1 + one.cmd(b"a2", b"NOOP")
    seen_by_two = r2 + two.cmd(b"b2", b"NOOP")
    assert re.search(
        rb"\* 2 FETCH \(FLAGS \(\\Answered( \\Recent)?\) UID 2 MODSEQ \(%s\)\)" % m2.group(1),
        seen_by_one,
    ), seen_by_one
    assert re.search(
        rb"\* 1 FETCH \(FLAGS \(\\Seen( \\Recent)?\) UID 1 MODSEQ \(%s\)\)" % m1.group(1),
        seen_by_two,
    ), seen_by_two
    one.close()
    two.close()


def test_rfc7162_store_examples_exact_bytes(server: RunningServer, user: tuple[str, str]) -> None:
    """RFC 7162 3.1.3 over a socket, byte for byte: a conditional STORE where two messages were
    changed by another session (d105: [MODIFIED 1,3], the third reported despite .SILENT), then a
    UID STORE of flags already set (a104: its old MODSEQ), then SEARCH MODSEQ and ESEARCH."""
    for _ in range(3):
        deliver(server, MSG, user[0])
    raw = _connect(server, user, b"CONDSTORE")
    h = _highest(raw.cmd(b"s1", b"SELECT INBOX"))
    other = _connect(server, user)
    other.cmd(b"o1", b"SELECT INBOX")
    assert other.cmd(b"o2", b"STORE 1,3 +FLAGS.SILENT (\\Seen)") == b"o2 OK Store completed.\r\n"
    other.close()
    assert raw.cmd(b"d105", b"STORE 1:3 (UNCHANGEDSINCE %d) +FLAGS.SILENT (\\Deleted)" % h) == (
        b"* 2 FETCH (MODSEQ (%d))\r\n" % (h + 2)
        + b"* 1 FETCH (FLAGS (\\Seen \\Recent) UID 1 MODSEQ (%d))\r\n" % (h + 1)
        + b"* 3 FETCH (FLAGS (\\Seen \\Recent) UID 3 MODSEQ (%d))\r\n" % (h + 1)
        + b"d105 OK [MODIFIED 1,3] Conditional STORE failed\r\n"
    )
    assert raw.cmd(
        b"a104", b"UID STORE 2 (UNCHANGEDSINCE %d) +FLAGS.SILENT (\\Deleted)" % (h + 2)
    ) == (b"* 2 FETCH (UID 2 MODSEQ (%d))\r\na104 OK Store completed.\r\n" % (h + 2))
    assert raw.cmd(b"a1", b"SEARCH MODSEQ %d" % (h + 1)) == (
        b"* SEARCH 1 2 3 (MODSEQ %d)\r\na1 OK Search completed.\r\n" % (h + 2)
    )
    assert raw.cmd(b"a2", b"UID SEARCH RETURN (MIN MAX COUNT) MODSEQ %d" % (h + 2)) == (
        b'* ESEARCH (TAG "a2") UID MIN 2 MAX 2 COUNT 1 MODSEQ %d\r\na2 OK Search completed.\r\n'
        % (h + 2)
    )
    raw.close()


def test_idle_pushes_modseq_and_vanished_with_qresync(
    server: RunningServer, user: tuple[str, str]
) -> None:
    """With QRESYNC on, IDLE pushes another session's flag change with UID and MODSEQ, and its
    expunge as VANISHED, never EXPUNGE (RFC 7162 3.1.4, 3.2.10)."""
    for _ in range(3):
        deliver(server, MSG, user[0])
    idler = _connect(server, user, b"QRESYNC")
    idler.cmd(b"s", b"SELECT INBOX")
    idler.send(b"i IDLE\r\n")
    assert idler.line() == b"+ idling\r\n"
    other = _connect(server, user)
    other.cmd(b"o1", b"SELECT INBOX")
    reply = other.cmd(b"o2", b"STORE 2 +FLAGS (\\Flagged)")
    assert b"MODSEQ" not in reply  # the other session never enabled CONDSTORE
    pushed = idler.wait_for(b"MODSEQ")
    assert re.fullmatch(
        rb"\* 2 FETCH \(FLAGS \(\\Flagged \\Recent\) UID 2 MODSEQ \(\d+\)\)\r\n", pushed
    ), pushed
    other.cmd(b"o3", b"STORE 1 +FLAGS.SILENT (\\Deleted)")
    other.cmd(b"o4", b"EXPUNGE")
    pushed = idler.wait_for(b"VANISHED")
    assert pushed.endswith(b"* VANISHED 1\r\n") and b"EXPUNGE" not in pushed, pushed
    idler.send(b"DONE\r\n")
    assert idler.until(b"i").endswith(b"i OK Idle completed.\r\n")
    other.close()
    idler.close()
