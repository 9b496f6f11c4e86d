"""Tests for the LMTP session state machine, without any transport.

The backend here is a small in-test stand-in: recipient policy and delivery are
tested for real in tests/delivery and over sockets in test_server.py.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from twisted.internet.defer import Deferred

from mailsuite.protocols.lmtp.commands import Command, parse_command
from mailsuite.protocols.lmtp.session import LmtpSession, ReadMode, Step
from mailsuite.protocols.lmtp.wire import Reply
from tests.protocols.lmtp.table_backend import HoldingBackend, SlowLookupBackend, TableBackend


def run(coro: Any) -> Any:
    return run_deferred(Deferred.fromCoroutine(coro))


def run_deferred(d: Deferred[Any]) -> Any:
    results: list[Any] = []
    d.addBoth(results.append)
    assert results, "session call did not complete synchronously"
    if isinstance(results[0], BaseException) or hasattr(results[0], "raiseException"):
        results[0].raiseException()
    return results[0]


class Harness:
    def __init__(self, backend: TableBackend, **kw: Any) -> None:
        kw.setdefault("max_message_bytes", 1000)
        kw.setdefault("max_recipients", 3)
        self.session = LmtpSession(backend, hostname="mx.test", session_id="S1", **kw)

    def cmd(self, line: str) -> Step:
        command: Command = parse_command(line.encode())
        return run(self.session.command(command))

    def codes(self, *lines: str) -> list[tuple[int, str | None]]:
        out = []
        for line in lines:
            step = self.cmd(line)
            replies = list(step.replies)
            if step.later is not None:
                replies.append(run_deferred(step.later))
            out.extend((r.code, r.enhanced) for r in replies)
        return out

    def body(self, data: bytes) -> list[Reply]:
        emitted: list[Reply] = []
        self.session.body(data)
        step = run(self.session.body_end(emitted.append))
        return emitted + step.replies


def test_greeting_and_lhlo_advertise_extensions() -> None:
    """LHLO answers with our name and PIPELINING, ENHANCEDSTATUSCODES, 8BITMIME, SIZE, CHUNKING."""
    h = Harness(TableBackend(set()))
    assert h.session.greeting().encode().startswith(b"220 mx.test ")
    reply = h.cmd("LHLO client").replies[0]
    assert reply.code == 250 and reply.lines[0] == "mx.test"
    for ext in ("PIPELINING", "ENHANCEDSTATUSCODES", "8BITMIME", "CHUNKING", "SIZE 1000"):
        assert ext in reply.lines


def test_mail_before_lhlo_is_refused() -> None:
    """MAIL before LHLO gets 503 5.5.1."""
    h = Harness(TableBackend({"alice"}))
    assert h.codes("MAIL FROM:<a@b.c>") == [(503, "5.5.1")]


def test_rcpt_and_data_need_mail_first() -> None:
    """RCPT and DATA outside a transaction get 503 5.5.1."""
    h = Harness(TableBackend({"alice"}))
    assert h.codes("LHLO c", "RCPT TO:<alice@x.y>", "DATA") == [
        (250, None),
        (503, "5.5.1"),
        (503, "5.5.1"),
    ]


def test_data_without_accepted_recipient_is_refused() -> None:
    """DATA when every RCPT failed gets 503 5.5.1 and no 354 (RFC 2033 4.2)."""
    h = Harness(TableBackend({"alice"}))
    assert h.codes("LHLO c", "MAIL FROM:<a@b.c>", "RCPT TO:<nobody@x.y>", "DATA") == [
        (250, None),
        (250, "2.1.0"),
        (550, "5.1.1"),
        (503, "5.5.1"),
    ]


def test_one_reply_per_recipient_in_rcpt_order_with_mixed_outcomes() -> None:
    """Each accepted recipient gets its own reply after DATA, in RCPT order, whatever the others."""
    backend = TableBackend({"alice", "bob", "carol"}, broken={"bob"})
    h = Harness(backend)
    h.codes("LHLO c", "MAIL FROM:<s@x.y>")
    assert h.codes("RCPT TO:<alice@x.y>", "RCPT TO:<ghost@x.y>", "RCPT TO:<bob@x.y>") == [
        (250, "2.1.5"),
        (550, "5.1.1"),
        (250, "2.1.5"),
    ]
    assert h.codes("RCPT TO:<carol@x.y>") == [(250, "2.1.5")]
    step = h.cmd("DATA")
    assert step.read is ReadMode.DATA and step.replies[0].code == 354
    replies = h.body(b"Subject: hi\r\n\r\nbody\r\n")
    assert [(r.code, r.text.split()[0]) for r in replies] == [
        (250, "alice"),
        (452, "Mailbox"),
        (250, "carol"),
    ]
    assert [d[0] for d in backend.delivered] == ["alice", "carol"]
    assert backend.delivered[0][2] == b"Subject: hi\r\n\r\nbody\r\n"
    # The transaction is over: a new MAIL is accepted.
    assert h.codes("MAIL FROM:<>") == [(250, "2.1.0")]


def test_declared_size_over_limit_is_refused_at_mail() -> None:
    """MAIL with SIZE above the limit gets 552 5.3.4 (RFC 1870 6.2)."""
    h = Harness(TableBackend({"alice"}))
    assert h.codes("LHLO c", "MAIL FROM:<a@b.c> SIZE=5000") == [(250, None), (552, "5.3.4")]


def test_body_over_limit_fails_every_recipient() -> None:
    """A body larger than the limit is read to its end and refused per recipient with 552 5.3.4."""
    backend = TableBackend({"alice", "bob"})
    h = Harness(backend)
    h.codes("LHLO c", "MAIL FROM:<a@b.c>", "RCPT TO:<alice@x>", "RCPT TO:<bob@x>", "DATA")
    replies = h.body(b"x" * 1500)
    assert [(r.code, r.enhanced) for r in replies] == [(552, "5.3.4"), (552, "5.3.4")]
    assert backend.delivered == []


def test_too_many_recipients_get_452() -> None:
    """RCPTs beyond the limit get 452 4.5.3 (RFC 5321 4.5.3.1.8)."""
    h = Harness(TableBackend({"alice"}), max_recipients=2)
    h.codes("LHLO c", "MAIL FROM:<a@b.c>", "RCPT TO:<alice@x>", "RCPT TO:<alice@x>")
    assert h.codes("RCPT TO:<alice@x>") == [(452, "4.5.3")]


def test_bdat_chunks_are_joined_and_last_triggers_delivery() -> None:
    """BDAT chunks are acknowledged one by one and BDAT LAST delivers their concatenation."""
    backend = TableBackend({"alice"})
    h = Harness(backend)
    h.codes("LHLO c", "MAIL FROM:<a@b.c>", "RCPT TO:<alice@x>")
    step = h.cmd("BDAT 6")
    assert step.read is ReadMode.BDAT and step.bdat_size == 6 and not step.replies
    assert [(r.code, r.enhanced) for r in h.body(b"Hello ")] == [(250, "2.0.0")]
    assert h.cmd("DATA").replies[0].code == 503  # RFC 3030 2: no DATA after BDAT
    h.cmd("BDAT 5 LAST")
    assert [r.code for r in h.body(b"world")] == [250]
    assert backend.delivered == [("alice", "a@b.c", b"Hello world")]


def test_bdat_without_recipients_is_consumed_and_refused() -> None:
    """BDAT with no accepted recipient still reads the chunk, then answers 503."""
    h = Harness(TableBackend(set()))
    h.codes("LHLO c", "MAIL FROM:<a@b.c>")
    step = h.cmd("BDAT 3 LAST")
    assert step.read is ReadMode.BDAT
    assert [(r.code, r.enhanced) for r in h.body(b"abc")] == [(503, "5.5.1")]


def test_rset_drops_the_transaction() -> None:
    """RSET forgets sender and recipients, so DATA needs a new MAIL."""
    h = Harness(TableBackend({"alice"}))
    h.codes("LHLO c", "MAIL FROM:<a@b.c>", "RCPT TO:<alice@x>")
    assert h.codes("RSET", "DATA") == [(250, "2.0.0"), (503, "5.5.1")]


def test_vrfy_answers_252_only_when_enabled() -> None:
    """VRFY is 502 5.5.1 when disabled and 252 when enabled."""
    assert Harness(TableBackend(set())).codes("VRFY x") == [(502, "5.5.1")]
    assert Harness(TableBackend(set()), vrfy=True).codes("VRFY x") == [(252, "2.5.0")]


def test_quit_closes() -> None:
    """QUIT answers 221 and asks the server to close the connection."""
    step = Harness(TableBackend(set())).cmd("QUIT")
    assert step.close and step.replies[0].code == 221


def test_disconnect_during_delivery_keeps_the_spool_until_delivery_ends() -> None:
    """When the client leaves while a copy is being stored, that copy still gets the whole body."""
    backend = HoldingBackend()
    h = Harness(backend)
    h.codes("LHLO c", "MAIL FROM:<a@b.c>", "RCPT TO:<alice@x>", "DATA")
    h.session.body(b"Subject: s\r\n\r\nbody\r\n")
    emitted: list[Reply] = []
    finished = Deferred.fromCoroutine(h.session.body_end(emitted.append))
    h.session.close()  # the connection is lost mid-delivery
    [(d, spool)] = backend.waiting
    with spool.open() as f:
        assert f.read() == b"Subject: s\r\n\r\nbody\r\n"
    d.callback(Reply.of(250, "2.0.0", "Saved"))
    assert finished.called and [r.code for r in emitted] == [250]
    with pytest.raises(ValueError):
        spool.open()  # closed once the delivery is done


def test_pipelined_rcpt_lookups_overlap_and_keep_rcpt_order() -> None:
    """RCPT lookups run together; out-of-order completion still answers in RCPT order."""
    backend = SlowLookupBackend()
    h = Harness(backend)
    h.codes("LHLO c", "MAIL FROM:<a@b.c>")
    steps = [h.cmd(f"RCPT TO:<{u}@x>") for u in ("alice", "ghost", "carol")]
    assert [name for name, _ in backend.lookups] == ["alice", "ghost", "carol"]  # all started
    data = Deferred.fromCoroutine(h.session.command(parse_command(b"DATA")))
    assert not data.called  # DATA waits for the lookups before it
    (_, da), (_, dg), (_, dc) = backend.lookups
    dc.callback((Reply.of(250, "2.1.5", "OK"), "carol"))
    dg.callback((Reply.of(550, "5.1.1", "unknown"), None))
    assert not data.called
    da.callback((Reply.of(250, "2.1.5", "OK"), "alice"))
    assert [run_deferred(s.later).code for s in steps] == [250, 550, 250]  # type: ignore[arg-type]
    assert run_deferred(data).replies[0].code == 354
    replies = h.body(b"x\r\n")
    assert [r.text for r in replies] == ["alice Saved", "carol Saved"]


def test_deliveries_start_together_and_replies_keep_rcpt_order() -> None:
    """All copies are stored at once; replies go out in RCPT order, a failure only in its own."""
    backend = HoldingBackend()
    backend.users = {"alice", "bob", "carol"}
    h = Harness(backend)
    h.codes("LHLO c", "MAIL FROM:<a@b.c>", "RCPT TO:<alice@x>", "RCPT TO:<bob@x>")
    h.codes("RCPT TO:<carol@x>", "DATA")
    h.session.body(b"Subject: s\r\n\r\nbody\r\n")
    emitted: list[Reply] = []
    finished = Deferred.fromCoroutine(h.session.body_end(emitted.append))
    assert len(backend.waiting) == 3  # all three deliveries started before any finished
    (da, _), (db, _), (dc, _) = backend.waiting
    dc.callback(Reply.of(250, "2.0.0", "carol Saved"))
    db.errback(RuntimeError("disk on fire"))
    assert emitted == [] and not finished.called  # alice's reply comes first
    da.callback(Reply.of(250, "2.0.0", "alice Saved"))
    assert [(r.code, r.text) for r in emitted] == [
        (250, "alice Saved"),
        (451, "Temporary internal error, try again later"),
        (250, "carol Saved"),
    ]
    assert finished.called
    assert h.codes("MAIL FROM:<>") == [(250, "2.1.0")]


def test_commands_needing_no_wait_are_answered_without_a_deferred() -> None:
    """handle() answers at once unless a RCPT lookup is still running, then DATA waits for it."""
    backend = SlowLookupBackend()
    h = Harness(backend)
    assert isinstance(h.session.handle(parse_command(b"LHLO c")), Step)
    assert isinstance(h.session.handle(parse_command(b"MAIL FROM:<a@b.c>")), Step)
    h.session.handle(parse_command(b"RCPT TO:<alice@x>"))
    data = h.session.handle(parse_command(b"DATA"))
    assert isinstance(data, Deferred) and not data.called
    [(_, lookup)] = backend.lookups
    lookup.callback((Reply.of(250, "2.1.5", "OK"), "alice"))
    assert run_deferred(data).replies[0].code == 354


class HeldPool:
    """A thread pool stand-in the test runs by hand: calls wait until run_all()."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, Deferred[Any]]] = []

    def __call__(self, f: Any, *args: Any) -> Deferred[Any]:
        d: Deferred[Any] = Deferred()
        self.calls.append((lambda: f(*args), d))
        return d

    def run_all(self) -> None:
        while self.calls:
            f, d = self.calls.pop(0)
            try:
                result = f()
            except Exception as e:  # noqa: BLE001 - handed to the Deferred
                d.errback(e)
            else:
                d.callback(result)


class BigSpoolBackend(TableBackend):
    def __init__(self, spool_dir: str) -> None:
        super().__init__({"alice"})
        self.spool_dir = spool_dir

    def new_spool(self) -> Any:
        from mailsuite.delivery.spool import Spool

        return Spool(self.spool_dir, memory_bytes=1024, background_writes=True)


def test_large_body_is_written_by_the_pool_and_reading_waits_when_behind(tmp_path: Any) -> None:
    """Spool file writes run in the pool; body() asks to stop reading while too much is queued."""
    from mailsuite.protocols.lmtp import session as session_module

    pool = HeldPool()
    backend = BigSpoolBackend(str(tmp_path))
    h = Harness(backend, max_message_bytes=50 * 1024 * 1024, run_blocking=pool)
    h.codes("LHLO c", "MAIL FROM:<a@b.c>", "RCPT TO:<alice@x>", "DATA")
    chunk = b"x" * 78 + b"\r\n"
    data = chunk * (session_module.SPOOL_QUEUE_MAX_BYTES // len(chunk) + 10)
    waits = [h.session.body(data[i : i + 65536]) for i in range(0, len(data), 65536)]
    assert os.listdir(tmp_path) == []  # nothing written on this (the reactor's) thread
    assert len(pool.calls) == 1  # one flush at a time
    wait = next(w for w in waits if w is not None)
    assert not wait.called
    pool.run_all()
    assert wait.called and len(os.listdir(tmp_path)) == 1
    emitted: list[Reply] = []
    done = h.session.end_of_body(emitted.append)
    assert isinstance(done, Deferred)
    steps: list[Any] = []
    done.addBoth(steps.append)
    assert steps == [] and emitted == []  # finish() waits for the pool
    pool.run_all()
    assert len(steps) == 1 and [r.code for r in emitted] == [250]
    assert backend.delivered[0][2] == data
    assert os.listdir(tmp_path) == []  # the spool file is gone with the transaction


def test_a_spool_write_failure_tempfails_every_recipient(tmp_path: Any) -> None:
    """When the spool file cannot be written, each recipient gets 451 4.3.0 and nothing is kept."""
    backend = BigSpoolBackend(str(tmp_path / "missing"))
    backend.users = {"alice", "bob"}
    h = Harness(backend, max_message_bytes=50 * 1024 * 1024)
    h.codes("LHLO c", "MAIL FROM:<a@b.c>", "RCPT TO:<alice@x>", "RCPT TO:<bob@x>", "DATA")
    replies = h.body(b"y" * 600_000)
    assert [(r.code, r.enhanced) for r in replies] == [(451, "4.3.0"), (451, "4.3.0")]
    assert backend.delivered == []
    assert h.codes("MAIL FROM:<>") == [(250, "2.1.0")]
