"""The LMTP state machine: typed commands in, replies out, no transport.

One :class:`LmtpSession` per connection. The server pulls events from the
wire decoder and calls :meth:`LmtpSession.command` for each command line,
:meth:`LmtpSession.body` for message bytes and :meth:`LmtpSession.body_end`
at the end of DATA or of a BDAT chunk; each returns a :class:`Step` telling
the server what to write and how to read the bytes that follow.

Who may receive mail, and how a copy is stored, is the
:class:`LmtpBackend`'s business (``backend.py`` holds the real one).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from twisted.internet.defer import Deferred, fail, maybeDeferred, succeed
from twisted.logger import Logger
from twisted.python.failure import Failure

from mailsuite.delivery.spool import Spool
from mailsuite.protocols.lmtp.commands import (
    Bdat,
    Command,
    Data,
    Lhlo,
    MailFrom,
    Noop,
    Path,
    Quit,
    RcptTo,
    Rset,
    Vrfy,
)
from mailsuite.protocols.lmtp.wire import Reply

__all__ = [
    "Accepted",
    "LmtpBackend",
    "LmtpSession",
    "ReadMode",
    "Step",
    "Transaction",
]

log = Logger()

# A large body's bytes are written to its spool file by the thread pool, never by
# the reactor: a write starts once this much is queued ...
SPOOL_FLUSH_BYTES = 256 * 1024
# ... and the socket is not read while more than this waits for the disk.
SPOOL_QUEUE_MAX_BYTES = 4 * 1024 * 1024

RunBlocking = Callable[..., "Deferred[Any]"]


class State(enum.Enum):
    GREETED = "before LHLO"
    READY = "outside a transaction"
    MAIL = "in a transaction"


class ReadMode(enum.Enum):
    COMMAND = "command"
    DATA = "data"  # a dot-terminated body follows
    BDAT = "bdat"  # ``Step.bdat_size`` raw bytes follow


@dataclass
class Step:
    """What the server does after a session call."""

    replies: list[Reply] = field(default_factory=list)
    # A reply still being worked out (a pipelined RCPT's lookup); the server writes
    # it after ``replies`` and before anything that comes later, in command order.
    later: Deferred[Reply] | None = None
    read: ReadMode = ReadMode.COMMAND
    bdat_size: int = 0
    close: bool = False


@dataclass
class Accepted:
    """A recipient the backend accepted at RCPT; ``handle`` is the backend's own state."""

    path: Path
    handle: Any


@dataclass
class _Slot:
    """One RCPT in command order; filled in when its lookup completes."""

    path: Path
    done: Deferred[None] = field(default_factory=Deferred)
    finished: bool = False
    accepted: bool = False
    handle: Any = None


@dataclass
class Transaction:
    """One MAIL ... DATA/BDAT LAST transaction (RFC 5321 section 3.3)."""

    sender: Path
    body_type: str = "7BIT"
    declared_size: int | None = None
    session_id: str = ""
    remote_ip: str = ""
    helo: str = ""
    recipients: list[Accepted] = field(default_factory=list)  # accepted, in RCPT order
    slots: list[_Slot] = field(default_factory=list)  # every RCPT given, in order
    spool: Spool | None = None
    oversize: bool = False
    chunking: bool = False  # BDAT used: DATA no longer allowed (RFC 3030 section 2)
    chunk_failed: Reply | None = None  # a BDAT failure answered for every further chunk
    delivering: bool = False  # deliveries read the spool; only _finish may close it
    flushing: Deferred[None] | None = None  # a pool thread writing the spool's queue


class LmtpBackend(Protocol):
    """Recipient policy and delivery, as the session needs them."""

    def check_recipient(self, path: Path, txn: Transaction) -> Deferred[tuple[Reply, Any]]:
        """Answer RCPT: ``(reply, handle)``; a positive reply accepts with ``handle``."""
        ...

    def deliver(self, handle: Any, txn: Transaction, spool: Spool) -> Deferred[Reply]:
        """Store one recipient's copy durably and return its reply (never fails)."""
        ...

    def new_spool(self) -> Spool:
        """An empty spool for a message body (memory first, a temp file when large)."""
        ...


class LmtpSession:
    """One LMTP connection's state.

    Args:
        backend: recipient checks and delivery.
        hostname: our name for the greeting and the LHLO answer.
        max_message_bytes: RFC 1870 SIZE limit.
        max_recipients: more RCPTs get 452 4.5.3 (RFC 5321 section 4.5.3.1.8).
        vrfy: answer VRFY with 252 (true) or 502 (false).
        session_id: names this session in replies and logs.
        remote_ip: the client's address, for logs.
        run_blocking: runs a blocking call in the thread pool (spool file
            writes); None: inline (tests).
    """

    def __init__(
        self,
        backend: LmtpBackend,
        *,
        hostname: str,
        max_message_bytes: int,
        max_recipients: int,
        vrfy: bool = False,
        session_id: str = "",
        remote_ip: str = "",
        run_blocking: RunBlocking | None = None,
    ) -> None:
        self._backend = backend
        self._run_blocking: RunBlocking = run_blocking or maybeDeferred
        self._hostname = hostname
        self._max_bytes = max_message_bytes
        self._max_rcpts = max_recipients
        self._vrfy = vrfy
        self.session_id = session_id
        self.remote_ip = remote_ip
        self.state = State.GREETED
        self._helo = ""
        self._txn: Transaction | None = None
        self._chunk: Bdat | None = None  # the BDAT whose bytes are being read
        self._chunk_error: Reply | None = None  # its answer when it is refused

    def greeting(self) -> Reply:
        # RFC 2034 section 3: the greeting carries no enhanced code.
        return Reply.of(220, None, f"{self._hostname} mailsuite LMTP ready")

    def capabilities(self) -> list[str]:
        return [
            self._hostname,
            "8BITMIME",
            "ENHANCEDSTATUSCODES",
            "PIPELINING",
            "CHUNKING",
            f"SIZE {self._max_bytes}",
        ]

    async def command(self, cmd: Command) -> Step:
        """Answer one parsed command (:meth:`handle` as a coroutine)."""
        step = self.handle(cmd)
        return (await step) if isinstance(step, Deferred) else step

    def handle(self, cmd: Command) -> Step | Deferred[Step]:
        """Answer one parsed command: at once when it can be, else through a Deferred.

        RCPT answers at once with ``Step.later``: its userdb lookup runs while the
        next pipelined RCPTs start theirs (RFC 2920), and every other command first
        waits for the lookups before it, so it sees their outcome. Most commands
        need no waiting at all; they are answered without a coroutine.
        """
        if isinstance(cmd, RcptTo):
            return self._rcpt(cmd)
        txn = self._txn
        if txn is not None and txn.slots:
            if not all(s.finished for s in txn.slots):
                return Deferred.fromCoroutine(self._answer_settled(cmd))
            txn.recipients = [Accepted(s.path, s.handle) for s in txn.slots if s.accepted]
        return self._answer(cmd)

    async def _answer_settled(self, cmd: Command) -> Step:
        await self._settle()
        return self._answer(cmd)

    def _answer(self, cmd: Command) -> Step:
        match cmd:
            case Lhlo(domain=domain):
                self._reset()
                self._helo = domain
                self.state = State.READY
                return Step([Reply(250, None, tuple(self.capabilities()))])
            case Noop():
                return Step([Reply.of(250, "2.0.0", "OK")])
            case Quit():
                self._reset()
                return Step(
                    [Reply.of(221, "2.0.0", f"{self._hostname} closing connection")], close=True
                )
            case Rset():
                self._reset()
                if self.state is State.MAIL:
                    self.state = State.READY
                return Step([Reply.of(250, "2.0.0", "OK")])
            case Vrfy():
                if self._vrfy:
                    # RFC 5321 3.5.3: 252 when we will not verify but will try delivery.
                    return Step([Reply.of(252, "2.5.0", "Cannot VRFY, but will try delivery")])
                return Step([Reply.of(502, "5.5.1", "VRFY disabled")])
            case MailFrom():
                return Step([self._mail(cmd)])
            case Data():
                return self._data()
            case Bdat():
                return self._bdat(cmd)
        return Step([Reply.of(502, "5.5.1", "Command not implemented")])

    def _mail(self, cmd: MailFrom) -> Reply:
        if self.state is State.GREETED:
            return Reply.of(503, "5.5.1", "Send LHLO first")
        if self.state is State.MAIL:
            return Reply.of(503, "5.5.1", "MAIL already given (RSET first)")
        # RFC 1870 section 6.2: a declared size over the limit is refused at once.
        if cmd.size is not None and cmd.size > self._max_bytes:
            return Reply.of(552, "5.3.4", "Message size exceeds fixed maximum message size")
        self._txn = Transaction(
            sender=cmd.sender,
            body_type=cmd.body,
            declared_size=cmd.size,
            session_id=self.session_id,
            remote_ip=self.remote_ip,
            helo=self._helo,
        )
        self.state = State.MAIL
        return Reply.of(250, "2.1.0", "Sender OK")

    def _rcpt(self, cmd: RcptTo) -> Step:
        txn = self._txn
        if self.state is not State.MAIL or txn is None:
            return Step([Reply.of(503, "5.5.1", "MAIL needed first")])
        if txn.chunking:
            return Step([Reply.of(503, "5.5.1", "RCPT not allowed after BDAT")])
        if sum(1 for s in txn.slots if s.accepted or not s.finished) >= self._max_rcpts:
            return Step([Reply.of(452, "4.5.3", "Too many recipients")])
        slot = _Slot(cmd.recipient)
        txn.slots.append(slot)
        return Step(later=self._check(slot, txn))

    def _check(self, slot: _Slot, txn: Transaction) -> Deferred[Reply]:
        """The backend's answer for ``slot``; never fails (an error is a 451)."""

        def checked(result: tuple[Reply, Any]) -> Reply:
            reply, handle = result
            slot.accepted, slot.handle = reply.positive, handle
            return reply

        def failed(failure: Failure) -> Reply:
            log.failure(
                "lmtp<{sid}>: recipient check for {rcpt} failed",
                failure,
                sid=self.session_id,
                rcpt=slot.path.address,
            )
            return Reply.of(451, "4.3.0", "Temporary internal error, try again later")

        def finished(reply: Reply) -> Reply:
            slot.finished = True
            slot.done.callback(None)
            return reply

        looked_up: Deferred[tuple[Reply, Any]]
        try:
            looked_up = self._backend.check_recipient(slot.path, txn)
        except Exception:
            looked_up = fail()
        answered: Deferred[Reply] = looked_up.addCallback(checked)
        return answered.addErrback(failed).addCallback(finished)

    async def _settle(self) -> None:
        """Wait for every RCPT lookup of the transaction; then list the accepted ones."""
        txn = self._txn
        if txn is None or not txn.slots:
            return
        for slot in txn.slots:
            if not slot.finished:
                await slot.done
        if self._txn is txn:
            txn.recipients = [Accepted(s.path, s.handle) for s in txn.slots if s.accepted]

    def _data(self) -> Step:
        txn = self._txn
        if self.state is not State.MAIL or txn is None:
            return Step([Reply.of(503, "5.5.1", "MAIL needed first")])
        if txn.chunking:
            return Step([Reply.of(503, "5.5.1", "DATA not allowed after BDAT")])
        if not txn.recipients:
            # RFC 2033 section 4.2: DATA without a successful RCPT gets 503.
            return Step([Reply.of(503, "5.5.1", "No valid recipients")])
        txn.spool = self._backend.new_spool()
        return Step(
            [Reply.of(354, None, "Start mail input; end with <CRLF>.<CRLF>")], read=ReadMode.DATA
        )

    def _bdat(self, cmd: Bdat) -> Step:
        # The chunk is always read (RFC 3030 section 2: the size is known, so even a
        # refused chunk is consumed); ``_chunk_error`` makes body_end answer it.
        txn = self._txn
        self._chunk = cmd
        if self.state is not State.MAIL or txn is None:
            self._chunk_error = Reply.of(503, "5.5.1", "MAIL needed first")
        elif not txn.recipients:
            self._chunk_error = Reply.of(503, "5.5.1", "No valid recipients")
        else:
            self._chunk_error = txn.chunk_failed
            if txn.spool is None:
                txn.spool = self._backend.new_spool()
                txn.chunking = True
        return Step(read=ReadMode.BDAT, bdat_size=cmd.size)

    def body(self, data: bytes) -> Deferred[None] | None:
        """Take message bytes (DATA unstuffed, or a BDAT chunk) into the spool.

        Returns:
            None, or a Deferred to wait for before reading more: the spool's
            file writes (in the thread pool) have fallen too far behind.
        """
        txn = self._txn
        spool = None if txn is None else txn.spool
        if txn is None or spool is None or self._chunk_error is not None or txn.oversize:
            return None
        if spool.size + len(data) > self._max_bytes:
            # Keep reading to the end of the body, then refuse it (RFC 1870 section 6.3).
            txn.oversize = True
            return None
        spool.write(data)
        if spool.queued_bytes < SPOOL_FLUSH_BYTES:
            return None
        flushing = self._flush(txn, spool)
        if spool.queued_bytes < SPOOL_QUEUE_MAX_BYTES:
            return None
        waiter: Deferred[None] = Deferred()
        flushing.addBoth(lambda _: waiter.callback(None))
        return waiter

    def _flush(self, txn: Transaction, spool: Spool) -> Deferred[None]:
        """Write the spool's queue in the thread pool (one write at a time, in order)."""
        if txn.flushing is not None:
            return txn.flushing
        d: Deferred[None] = self._run_blocking(spool.flush)
        if d.called:
            # Inline (tests): finished already; a failure stays in the spool for finish().
            d.addErrback(lambda _: None)
            return succeed(None)
        txn.flushing = d

        def done(result: object) -> None:
            txn.flushing = None  # a failure is kept by the spool and reported at the end

        d.addBoth(done)
        return d

    async def body_end(self, emit: Callable[[Reply], None]) -> Step:
        """:meth:`end_of_body` as a coroutine."""
        step = self.end_of_body(emit)
        return (await step) if isinstance(step, Deferred) else step

    def end_of_body(self, emit: Callable[[Reply], None]) -> Step | Deferred[Step]:
        """The body (DATA) or a chunk (BDAT) is complete.

        For DATA and BDAT LAST, ``emit`` is called once per accepted recipient, in
        RCPT order, each as soon as that copy is durable (RFC 2033 section 4.2), so
        a slow mailbox does not hold back the replies before it. A BDAT chunk
        that is not the last is answered at once.
        """
        chunk, self._chunk = self._chunk, None
        txn = self._txn
        if chunk is not None:
            error, self._chunk_error = self._chunk_error, None
            if error is not None:
                if txn is not None and txn.recipients:
                    txn.chunk_failed = error
                if chunk.last and txn is not None and txn.spool is not None:
                    self._reset()
                    self.state = State.READY
                return Step([error])
            if not chunk.last:
                return Step([Reply.of(250, "2.0.0", f"{chunk.size} octets received")])
        if txn is None:
            return Step()
        spool = txn.spool
        if txn.oversize or spool is None:
            for _ in txn.recipients:
                emit(Reply.of(552, "5.3.4", "Message size exceeds fixed maximum message size"))
            self._end_transaction(txn)
            return Step()
        txn.delivering = True
        if spool.on_disk:
            # The rest of the queue is written and the file closed in the pool.
            ready = (txn.flushing or succeed(None)).addCallback(
                lambda _: self._run_blocking(spool.finish)
            )
        else:
            spool.finish()  # in memory: nothing to write
            ready = succeed(None)

        def deliver(_: object) -> Deferred[None]:
            return self._deliver_all(txn, spool, emit)

        def spool_failed(failure: Failure) -> None:
            log.error(
                "lmtp<{sid}>: spooling the message to {dir} failed: {err}",
                sid=self.session_id,
                dir=spool.path or "(temp dir)",
                err=failure.value,
            )
            for _ in txn.recipients:
                emit(Reply.of(451, "4.3.0", "Temporary failure spooling the message"))

        def ended(result: object) -> object:
            self._end_transaction(txn)
            return result

        d = ready.addCallbacks(deliver, spool_failed)
        return d.addBoth(ended).addCallback(lambda _: Step())

    def _deliver_all(
        self, txn: Transaction, spool: Spool, emit: Callable[[Reply], None]
    ) -> Deferred[None]:
        """Start every recipient's delivery at once; emit their replies in RCPT order.

        Each reply goes out as soon as it and every reply before it are known
        (RFC 2033 section 4.2); the Deferred fires after the last one.
        """
        rcpts = txn.recipients
        replies: list[Reply | None] = [None] * len(rcpts)
        all_done: Deferred[None] = Deferred()
        next_out = 0

        def got(reply: Reply, i: int) -> None:
            nonlocal next_out
            replies[i] = reply
            while next_out < len(replies):
                ready = replies[next_out]
                if ready is None:
                    return
                next_out += 1
                emit(ready)
            if not all_done.called:
                all_done.callback(None)

        def failed(failure: Failure, i: int) -> None:
            log.failure(
                "lmtp<{sid}>: delivery to {rcpt} failed",
                failure,
                sid=self.session_id,
                rcpt=rcpts[i].path.address,
            )
            got(Reply.of(451, "4.3.0", "Temporary internal error, try again later"), i)

        if not rcpts:
            all_done.callback(None)
        for i, rcpt in enumerate(rcpts):
            try:
                d = self._backend.deliver(rcpt.handle, txn, spool)
            except Exception:
                d = fail()
            d.addCallbacks(got, failed, callbackArgs=(i,), errbackArgs=(i,))
        return all_done

    def _end_transaction(self, txn: Transaction) -> None:
        if self._txn is txn:
            self._txn = None
            self.state = State.READY
        if txn.spool is not None:
            txn.spool.close()

    def _reset(self) -> None:
        txn, self._txn = self._txn, None
        # A transaction being delivered (the client left meanwhile) keeps its spool
        # until every delivery has finished reading it; _finish closes it.
        if txn is not None and txn.spool is not None and not txn.delivering:
            spool = txn.spool
            if txn.flushing is not None:
                # A pool thread is writing to it: close once that write is done.
                txn.flushing.addBoth(lambda _: spool.close())
            else:
                spool.close()

    def close(self) -> None:
        """The connection is gone: drop any unfinished transaction."""
        self._reset()
