"""Tests for the LMTP Twisted protocol over an in-memory transport."""

from __future__ import annotations

import random
import re

from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from mailsuite.protocols.lmtp.server import LmtpFactory, LmtpServerProtocol
from mailsuite.protocols.lmtp.session import LmtpSession
from mailsuite.protocols.lmtp.wire import Reply
from tests.protocols.lmtp.table_backend import HoldingBackend, SlowLookupBackend, TableBackend

CLOCK = Clock()


def connect(
    backend: TableBackend, max_line_bytes: int = 4096
) -> tuple[LmtpServerProtocol, StringTransport]:
    def make(sid: str, remote: str) -> LmtpSession:
        return LmtpSession(
            backend,
            hostname="mx.test",
            max_message_bytes=10_000,
            max_recipients=10,
            session_id=sid,
            remote_ip=remote,
        )

    proto = LmtpFactory(make, max_line_bytes=max_line_bytes, timeout_s=300).buildProtocol(None)
    proto.callLater = CLOCK.callLater  # type: ignore[method-assign]
    transport = StringTransport()
    proto.makeConnection(transport)
    return proto, transport


def codes(output: bytes) -> list[str]:
    """The final line of each reply, reduced to 'code enhanced'."""
    out = []
    for line in output.split(b"\r\n"):
        m = re.match(rb"(\d{3}) (\d\.\d+\.\d+)?", line)
        if m:
            out.append(" ".join(x.decode() for x in m.groups() if x))
    return out


def test_pipelined_transaction_is_answered_in_order() -> None:
    """A whole transaction sent in one write (RFC 2920) gets every reply in order."""
    backend = TableBackend({"alice", "bob"})
    proto, t = connect(backend)
    proto.dataReceived(
        b"LHLO c\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice@x>\r\nRCPT TO:<nobody@x>\r\n"
        b"RCPT TO:<bob@x>\r\nDATA\r\nSubject: t\r\n\r\n..dot\r\n.\r\nQUIT\r\n"
    )
    assert codes(t.value()) == [
        "220",
        "250",
        "250 2.1.0",
        "250 2.1.5",
        "550 5.1.1",
        "250 2.1.5",
        "354",
        "250 2.0.0",
        "250 2.0.0",
        "221 2.0.0",
    ]
    assert [d[2] for d in backend.delivered] == [b"Subject: t\r\n\r\n.dot\r\n"] * 2
    assert t.disconnecting


def test_body_split_across_reads_is_reassembled() -> None:
    """A DATA body arriving in many small reads is delivered whole, once."""
    backend = TableBackend({"alice"})
    proto, t = connect(backend)
    stream = b"LHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<alice@x>\r\nDATA\r\nA: b\r\n\r\nline\r\n.\r\n"
    for i in range(0, len(stream), 3):
        proto.dataReceived(stream[i : i + 3])
    assert codes(t.value())[-1] == "250 2.0.0"
    assert backend.delivered == [("alice", "", b"A: b\r\n\r\nline\r\n")]


def test_bdat_with_pipelined_chunks() -> None:
    """BDAT chunks and the commands around them may all arrive in one write."""
    backend = TableBackend({"alice"})
    proto, t = connect(backend)
    proto.dataReceived(
        b"LHLO c\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice@x>\r\n"
        b"BDAT 4\r\nab\r\nBDAT 3 LAST\r\n.\r\nNOOP\r\n"
    )
    assert codes(t.value())[-3:] == ["250 2.0.0", "250 2.0.0", "250 2.0.0"]
    assert backend.delivered == [("alice", "s@x", b"ab\r\n.\r\n")]


def test_bad_command_and_long_line_get_errors_and_session_continues() -> None:
    """Unknown verbs get 500 5.5.1, overlong lines 500 5.5.2, and the session goes on."""
    proto, t = connect(TableBackend(set()), max_line_bytes=64)
    proto.dataReceived(b"FROB\r\nNOOP " + b"x" * 100 + b"\r\nEHLO x\r\nNOOP\r\n")
    assert codes(t.value()) == ["220", "500 5.5.1", "500 5.5.2", "500 5.5.1", "250 2.0.0"]
    assert not t.disconnecting


def test_idle_timeout_closes_with_421() -> None:
    """An idle connection is closed with 421 4.4.2 when the timeout fires."""
    proto, t = connect(TableBackend(set()))
    proto.dataReceived(b"NOOP\r\n")
    CLOCK.advance(299)
    assert not t.disconnecting
    CLOCK.advance(2)
    assert codes(t.value())[-1] == "421 4.4.2" and t.disconnecting


def test_replies_wait_behind_a_pending_rcpt() -> None:
    """A syntax error after a still-pending RCPT is answered after that RCPT, not before."""
    backend = SlowLookupBackend()
    proto, t = connect(backend)
    proto.dataReceived(
        b"LHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<alice@x>\r\nFROB\r\nRCPT TO:<bob@x>\r\n"
    )
    assert codes(t.value()) == ["220", "250", "250 2.1.0"]
    [(_, da), (_, db)] = backend.lookups
    db.callback((Reply.of(250, "2.1.5", "OK"), "bob"))
    assert codes(t.value()) == ["220", "250", "250 2.1.0"]
    da.callback((Reply.of(550, "5.1.1", "unknown"), None))
    assert codes(t.value())[3:] == ["550 5.1.1", "500 5.5.1", "250 2.1.5"]


def test_random_garbage_never_breaks_the_connection() -> None:
    """Random bytes and half-valid commands get error replies; the session keeps working."""
    rng = random.Random(20261123)
    words = [
        b"LHLO x",
        b"MAIL FROM:<a@b>",
        b"RCPT TO:<alice@x>",
        b"RCPT TO:<",
        b"BDAT 3",
        b"DATA",
        b"RSET",
        b"MAIL FROM:<> SIZE=",
        b"\xff\xfe",
        b"BDAT 1 LAST",
        b".",
    ]
    backend = TableBackend({"alice"})
    proto, t = connect(backend, max_line_bytes=256)
    for _ in range(300):
        if rng.random() < 0.5:
            chunk = rng.choice(words) + b"\r\n"
        else:
            chunk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))
        proto.dataReceived(chunk)
        assert not t.disconnecting
    # Whatever state the garbage left, a fresh transaction still works end to end.
    proto.dataReceived(b"\r\n.\r\n" + b"x" * 10 + b"\r\nRSET\r\n")
    t.clear()
    proto.dataReceived(
        b"RSET\r\nLHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<alice@x>\r\nDATA\r\nok\r\n.\r\n"
    )
    assert codes(t.value())[-1] == "250 2.0.0"


def test_slow_delivery_is_not_an_idle_timeout() -> None:
    """While copies are being stored the idle timer is paused; it restarts afterwards."""
    backend = HoldingBackend()
    proto, t = connect(backend)
    proto.dataReceived(b"LHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<alice@x>\r\nDATA\r\nx\r\n.\r\n")
    CLOCK.advance(3600)
    assert not t.disconnecting
    [(d, _)] = backend.waiting
    d.callback(Reply.of(250, "2.0.0", "Saved"))
    assert codes(t.value())[-1] == "250 2.0.0"
    CLOCK.advance(301)
    assert t.disconnecting
