"""The LMTP Twisted protocol: bytes from the socket to the session and replies back.

The only Twisted ``Protocol`` of LMTP. It feeds the sans-IO decoder, pulls one
event at a time and hands it to the session; while the session works on a
command (a userdb lookup, a delivery) no further event is pulled, so pipelined
commands (RFC 2920) are answered strictly in order, and the decoder only
learns whether the next bytes are a body once the session has answered.
"""

from __future__ import annotations

import base64
import os
from collections import deque
from collections.abc import Callable
from typing import Any

from twisted.internet import address as taddress
from twisted.internet.defer import Deferred
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import Logger
from twisted.protocols.policies import TimeoutMixin
from twisted.python.failure import Failure

from mailsuite.protocols.lmtp.commands import CommandError, parse_command
from mailsuite.protocols.lmtp.session import LmtpSession, ReadMode, Step
from mailsuite.protocols.lmtp.wire import (
    CommandLine,
    DataChunk,
    DataEnd,
    LineTooLong,
    LmtpDecoder,
    Reply,
)

__all__ = ["LmtpFactory", "LmtpServerProtocol", "new_session_id"]

log = Logger()

# Bytes buffered while the session is busy before we stop reading the socket.
MAX_BACKLOG_BYTES = 1024 * 1024
LMTP_TIMEOUT_S = 5 * 60.0  # RFC 5321 4.5.3.2.7: a server waits at least 5 minutes


def new_session_id(rng: Callable[[int], bytes] = os.urandom) -> str:
    """A short random id naming the session in replies and logs (as Dovecot does)."""
    return base64.b64encode(rng(9), altchars=b"+-").decode("ascii")


SessionFactory = Callable[[str, str], LmtpSession]  # (session id, remote ip) -> session


class _Queued:
    """Replies in the output queue; ``None`` until they are known."""

    __slots__ = ("replies",)

    def __init__(self, replies: list[Reply] | None) -> None:
        self.replies = replies


class LmtpServerProtocol(Protocol, TimeoutMixin):
    """One LMTP connection.

    Args:
        make_session: builds the session for this connection.
        max_line_bytes: command line limit (500 5.5.2 beyond it).
        timeout_s: idle timeout.
        debug_protocol: log every command line (LMTP carries no passwords).
    """

    def __init__(
        self,
        make_session: SessionFactory,
        *,
        max_line_bytes: int,
        timeout_s: float = LMTP_TIMEOUT_S,
        debug_protocol: bool = False,
    ) -> None:
        self._make_session = make_session
        self._decoder = LmtpDecoder(max_line_bytes)
        self._timeout_s = timeout_s
        self._debug = debug_protocol
        self._busy = False
        self._pumping = False
        self._closed = False
        self._paused = False
        self.session: LmtpSession | None = None
        self.sid = ""
        # Replies waiting behind one still being worked out (a pipelined RCPT).
        self._out: deque[_Queued] = deque()

    @property
    def _transport(self) -> Any:
        # ITransport plus IProducer/getPeer, which zope interfaces cannot express to mypy.
        return self.transport

    def connectionMade(self) -> None:
        peer = self._transport.getPeer()
        is_ip = isinstance(peer, taddress.IPv4Address | taddress.IPv6Address)
        remote = peer.host if is_ip else "local"
        set_no_delay = getattr(self._transport, "setTcpNoDelay", None)
        if is_ip and set_no_delay is not None:
            # Replies are small and often written in bursts (one per recipient);
            # Nagle would hold each behind the client's delayed ACK (~40 ms).
            set_no_delay(True)
        self.sid = new_session_id()
        self.session = self._make_session(self.sid, remote)
        log.info("lmtp<{sid}>: connect from {remote}", sid=self.sid, remote=remote)
        self.setTimeout(self._timeout_s)
        self._write(self.session.greeting())

    def connectionLost(self, reason: Failure | None = None) -> None:
        self._closed = True
        self.setTimeout(None)
        if self.session is not None:
            self.session.close()
        log.debug("lmtp<{sid}>: disconnected", sid=self.sid)

    def timeoutConnection(self) -> None:
        log.info("lmtp<{sid}>: idle timeout, disconnecting", sid=self.sid)
        self._send(Reply.of(421, "4.4.2", "Timeout, closing connection"))
        self._transport.loseConnection()

    def dataReceived(self, data: bytes) -> None:
        self.resetTimeout()
        self._decoder.feed(data)
        self._pump()
        if self._busy and self._decoder.buffered > MAX_BACKLOG_BYTES and not self._paused:
            self._paused = True
            self._transport.pauseProducing()

    def _write(self, reply: Reply) -> None:
        """Send ``reply`` after every earlier reply (some may still be pending)."""
        if self._out:
            self._out.append(_Queued([reply]))
        else:
            self._send(reply)

    def _write_later(self, d: Deferred[Reply]) -> None:
        entry = _Queued(None)
        self._out.append(entry)

        def done(reply: Reply) -> None:
            entry.replies = [reply]
            self._flush()

        d.addCallbacks(done, self._internal_error)

    def _flush(self) -> None:
        while self._out and self._out[0].replies is not None:
            for reply in self._out.popleft().replies or ():
                self._send(reply)

    def _send(self, reply: Reply) -> None:
        if self._debug:
            log.debug("lmtp<{sid}>: S: {line}", sid=self.sid, line=reply.encode()[:200])
        if not self._closed:
            self._transport.write(reply.encode())

    def _pump(self) -> None:
        """Handle buffered events until one needs to wait (or none is left)."""
        if self._pumping:
            return
        self._pumping = True
        try:
            while not self._busy and not self._closed:
                event = self._decoder.next_event()
                if event is None:
                    break
                self._handle(event)
        finally:
            self._pumping = False
        if not self._busy and self._paused and not self._closed:
            self._paused = False
            self._transport.resumeProducing()

    def _handle(self, event: object) -> None:
        session = self.session
        assert session is not None
        match event:
            case DataChunk(data=data):
                wait = session.body(data)
                if wait is not None:
                    # The spool's disk writes are behind: read on once they catch up.
                    self._busy = True
                    wait.addCallbacks(lambda _: self._step_done(Step()), self._internal_error)
            case DataEnd():
                # Storing many large copies may take longer than the idle timeout;
                # the client is waiting for us, not idle.
                self.setTimeout(None)
                self._run(session.end_of_body, self._write)
            case CommandLine(line=line):
                if self._debug:
                    log.debug("lmtp<{sid}>: C: {line!r}", sid=self.sid, line=line[:200])
                try:
                    cmd = parse_command(line)
                except CommandError as e:
                    log.info(
                        "lmtp<{sid}>: bad command {line!r}: {err}",
                        sid=self.sid,
                        line=line[:80],
                        err=e.reply.text,
                    )
                    self._write(e.reply)
                    return
                self._run(session.handle, cmd)
            case LineTooLong():
                log.info("lmtp<{sid}>: command line too long", sid=self.sid)
                self._write(Reply.of(500, "5.5.2", "Line too long"))

    def _run(self, call: Callable[[Any], Step | Deferred[Step]], arg: Any) -> None:
        """Hand one event to the session; most are answered at once, without a Deferred."""
        self._busy = True
        try:
            step = call(arg)
        except Exception:
            self._internal_error(Failure())
            return
        if isinstance(step, Step):
            self._step_done(step)
        else:
            step.addCallbacks(self._step_done, self._internal_error)

    def _step_done(self, step: Step) -> None:
        for reply in step.replies:
            self._write(reply)
        if step.later is not None:
            self._write_later(step.later)
        if step.read is ReadMode.DATA:
            self._decoder.start_data()
        elif step.read is ReadMode.BDAT:
            self._decoder.start_bdat(step.bdat_size)
        if step.close:
            self._closed = True
            self._transport.loseConnection()
        self._busy = False
        if self.timeOut is None and not self._closed:
            self.setTimeout(self._timeout_s)
        self._pump()

    def _internal_error(self, failure: Failure) -> None:
        log.failure("lmtp<{sid}>: internal error", failure, sid=self.sid)
        self._send(Reply.of(421, "4.3.0", "Internal error occurred. Refer to server log."))
        self._closed = True
        self._transport.loseConnection()


class LmtpFactory(Factory):
    """Builds :class:`LmtpServerProtocol` for each connection."""

    def __init__(
        self,
        make_session: SessionFactory,
        *,
        max_line_bytes: int,
        timeout_s: float = LMTP_TIMEOUT_S,
        debug_protocol: bool = False,
    ) -> None:
        self._make_session = make_session
        self._max_line = max_line_bytes
        self._timeout_s = timeout_s
        self._debug = debug_protocol

    def buildProtocol(self, addr: Any) -> LmtpServerProtocol:
        proto = LmtpServerProtocol(
            self._make_session,
            max_line_bytes=self._max_line,
            timeout_s=self._timeout_s,
            debug_protocol=self._debug,
        )
        proto.factory = self
        return proto
