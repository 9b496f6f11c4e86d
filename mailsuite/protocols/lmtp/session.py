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

from twisted.internet.defer import Deferred
from twisted.logger import Logger

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
    ) -> None:
        self._backend = backend
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
        """Answer one parsed command.

        RCPT answers at once with ``Step.later``: its userdb lookup runs while the
        next pipelined RCPTs start theirs (RFC 2920), and every other command first
        waits for the lookups before it, so it sees their outcome.
        """
        if isinstance(cmd, RcptTo):
            return self._rcpt(cmd)
        await self._settle()
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
        return Step(later=Deferred.fromCoroutine(self._check(slot, txn)))

    async def _check(self, slot: _Slot, txn: Transaction) -> Reply:
        try:
            reply, handle = await self._backend.check_recipient(slot.path, txn)
            slot.accepted, slot.handle = reply.positive, handle
            return reply
        except Exception:
            log.failure(
                "lmtp<{sid}>: recipient check for {rcpt} failed",
                sid=self.session_id,
                rcpt=slot.path.address,
            )
            return Reply.of(451, "4.3.0", "Temporary internal error, try again later")
        finally:
            slot.finished = True
            slot.done.callback(None)

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

    def body(self, data: bytes) -> None:
        """Take message bytes (DATA unstuffed, or a BDAT chunk) into the spool."""
        txn = self._txn
        if txn is None or txn.spool is None or self._chunk_error is not None or txn.oversize:
            return
        if txn.spool.size + len(data) > self._max_bytes:
            # Keep reading to the end of the body, then refuse it (RFC 1870 section 6.3).
            txn.oversize = True
            return
        txn.spool.write(data)

    async def body_end(self, emit: Callable[[Reply], None]) -> Step:
        """The body (DATA) or a chunk (BDAT) is complete.

        For DATA and BDAT LAST, ``emit`` is called once per accepted recipient, in
        RCPT order, each as soon as that copy is durable (RFC 2033 section 4.2), so
        a slow mailbox does not hold back the replies before it.
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
        await self._finish(txn, emit)
        return Step()

    async def _finish(self, txn: Transaction, emit: Callable[[Reply], None]) -> None:
        spool = txn.spool
        try:
            if txn.oversize or spool is None:
                for _ in txn.recipients:
                    emit(Reply.of(552, "5.3.4", "Message size exceeds fixed maximum message size"))
                return
            spool.finish()
            txn.delivering = True
            pending = [self._backend.deliver(r.handle, txn, spool) for r in txn.recipients]
            for rcpt, d in zip(txn.recipients, pending, strict=True):
                try:
                    reply = await d
                except Exception:
                    log.failure(
                        "lmtp<{sid}>: delivery to {rcpt} failed",
                        sid=self.session_id,
                        rcpt=rcpt.path.address,
                    )
                    reply = Reply.of(451, "4.3.0", "Temporary internal error, try again later")
                emit(reply)
        finally:
            if self._txn is txn:
                self._txn = None
                self.state = State.READY
            if spool is not None:
                spool.close()

    def _reset(self) -> None:
        txn, self._txn = self._txn, None
        # A transaction being delivered (the client left meanwhile) keeps its spool
        # until every delivery has finished reading it; _finish closes it.
        if txn is not None and txn.spool is not None and not txn.delivering:
            txn.spool.close()

    def close(self) -> None:
        """The connection is gone: drop any unfinished transaction."""
        self._reset()
