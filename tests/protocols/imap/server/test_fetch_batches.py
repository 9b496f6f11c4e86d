"""FETCH over many batches (issue 4): every message once, in order, byte-exact, real server."""

from __future__ import annotations

import glob
import os
import re

from mailsuite.protocols.imap.handlers.fetch import CACHED_BATCH, FETCH_BATCH
from mailsuite.store.maildir import open_user_store
from tests.support.server import RunningServer

from .conftest import Raw, crlf

COUNT = CACHED_BATCH + FETCH_BATCH + 3  # spans batch edges of both sizes
_FETCH_LINE = re.compile(rb"^\* (\d+) FETCH \(", re.M)


def _message(i: int) -> bytes:
    return crlf(
        b"From: Sender %d <s%d@example.org>\n"
        b"To: alice@example.org\n"
        b"Subject: batch message %d\n"
        b"Date: Mon, 23 Nov 2026 10:00:00 +0000\n"
        b"Message-ID: <batch-%d@example.org>\n"
        b"\n"
        b"body %d\n" % (i, i, i, i, i)
    )


def _fill(server: RunningServer, user: str) -> None:
    """COUNT messages, appended as a delivery agent in another process would."""
    store = open_user_store(server.mail_root(user), user=user, fsync=False)
    box = store.open_mailbox("INBOX")
    try:
        for i in range(1, COUNT + 1):
            box.append(_message(i))
    finally:
        box.close()


def _selected(server: RunningServer, user: tuple[str, str]) -> Raw:
    client = Raw(server.imap_port)
    client.login(*user)
    assert b"S OK" in client.cmd(b"S", b"SELECT INBOX")
    return client


def test_envelope_fetch_spans_batches_in_order(
    server: RunningServer, user: tuple[str, str]
) -> None:
    """FETCH 1:* (ENVELOPE BODYSTRUCTURE) answers each message once, in order, with its own data."""
    _fill(server, user[0])
    client = _selected(server, user)
    try:
        reply = client.cmd(b"F", b"FETCH 1:* (ENVELOPE BODYSTRUCTURE)")
    finally:
        client.close()
    assert reply.endswith(b"F OK Fetch completed.\r\n"), reply[-200:]
    lines = reply.split(b"\r\n")[:-2]
    assert [int(m.group(1)) for m in map(_FETCH_LINE.match, lines) if m] == list(
        range(1, COUNT + 1)
    )
    assert len(lines) == COUNT
    for n, line in enumerate(lines, 1):
        assert b'"batch message %d"' % n in line, line
        assert b'"<batch-%d@example.org>"' % n in line, line
        # RFC 3501 7.4.2: body-fld-octets and body-fld-lines of the one text part.
        tail = b' "7bit" %d 1 nil nil nil nil))' % len(b"body %d\r\n" % n)
        assert line.lower().endswith(tail), line


def test_body_fetch_skips_a_vanished_file_and_says_so(
    server: RunningServer, user: tuple[str, str]
) -> None:
    """A file removed behind the index is skipped in its batch; the rest come, then NO."""
    _fill(server, user[0])
    client = _selected(server, user)
    try:
        victim = FETCH_BATCH + 1  # the first message of the second batch
        paths = glob.glob(os.path.join(server.mail_root(user[0]), "*", "*"))
        (path,) = [p for p in paths if b"<batch-%d@" % victim in open(p, "rb").read()]
        os.unlink(path)
        reply = client.cmd(b"F", b"FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    finally:
        client.close()
    numbers = [int(m.group(1)) for m in _FETCH_LINE.finditer(reply)]
    assert numbers == [n for n in range(1, COUNT + 1) if n != victim]
    assert b"F NO [EXPUNGEISSUED]" in reply, reply[-200:]
    assert b"Subject: batch message %d\r\n" % (victim + 1) in reply
