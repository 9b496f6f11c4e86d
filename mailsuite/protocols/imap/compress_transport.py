"""COMPRESS=DEFLATE on a live Twisted connection (RFC 4978), installed after ``OK DEFLATE active``.

The server writes the tagged ``OK`` uncompressed, then calls
:func:`start_compression`. From then on:

* ``protocol.transport`` is a :class:`CompressedTransport`: every ``write``
  goes through the DEFLATE stream, and the stream is flushed
  (``Z_SYNC_FLUSH``) once per reactor turn, so a batch of response lines
  costs one flush and the client never waits on output held in the
  compressor (RFC 4978 section 4). ``loseConnection`` flushes first.
* bytes from the socket are inflated a bounded piece at a time and handed to
  the protocol's own ``dataReceived``. When the protocol pauses reading
  (``transport.pauseProducing()``, as the IMAP server does when pipelined
  commands pile up) no further piece is expanded until it resumes, so a
  deflate bomb becomes a client that sends a lot, which the framer's line
  and literal limits already handle.

Corrupt compressed input ends the connection with a ``BYE`` (sent compressed,
so a client that still decodes our stream can read it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from twisted.logger import Logger
from zope.interface import directlyProvides, providedBy

from .wire.compress import (
    DEFAULT_LEVEL,
    DEFAULT_MEM_LEVEL,
    INFLATE_PIECE_BYTES,
    CompressionError,
    Deflater,
    Inflater,
)
from .wire.responses import BYE, untagged_status

__all__ = ["CompressedTransport", "start_compression"]

CallSoon = Callable[[Callable[[], None]], object]


class CompressedTransport:
    """A transport wrapper: DEFLATE out, INFLATE in; everything else goes to the real transport.

    It provides whatever interfaces the wrapped transport provides (TCP,
    TLS, producer/consumer), delegating every attribute it does not define.
    """

    log = Logger()

    def __init__(
        self,
        transport: Any,
        deliver: Callable[[bytes], None],
        call_soon: CallSoon | None = None,
        *,
        level: int = DEFAULT_LEVEL,
        mem_level: int = DEFAULT_MEM_LEVEL,
        piece_bytes: int = INFLATE_PIECE_BYTES,
        on_error: Callable[[CompressionError], None] | None = None,
    ) -> None:
        """Wrap ``transport``.

        Args:
            transport: the connection's transport (TCP or TLS).
            deliver: receives decompressed input (the protocol's original
                ``dataReceived``).
            call_soon: schedules a call for the end of this reactor turn
                (``lambda f: reactor.callLater(0, f)``); None flushes after
                every write instead (simpler, a little less compression).
            level: zlib compression level (1 fastest ... 9 smallest).
            mem_level: zlib memLevel (1..9): compressor memory per connection.
            piece_bytes: the most decompressed input handed over at once.
            on_error: called on corrupt input instead of the default
                (log, ``BYE``, close).
        """
        self._transport = transport
        self._deliver = deliver
        self._call_soon = call_soon
        self._on_error = on_error
        self.deflater = Deflater(level, mem_level)
        self.inflater = Inflater(piece_bytes)
        self._flush_scheduled = False
        self._paused = False
        self._pumping = False
        self._closed = False
        directlyProvides(self, providedBy(transport))

    def __getattr__(self, name: str) -> Any:
        # Only reached for attributes not defined here: getPeer, getHost,
        # registerProducer, setTcpNoDelay, startTLS, ... go to the real transport.
        if name.startswith("__") or name == "_transport":
            raise AttributeError(name)  # zope's __provides__ lookups, half-built instances
        return getattr(self._transport, name)

    @property
    def wrapped(self) -> Any:
        """The transport underneath."""
        return self._transport

    # -- output ---------------------------------------------------------------

    def write(self, data: bytes) -> None:
        if not data or self._closed:
            return
        out = self.deflater.compress(data)
        if out:
            # Partial output goes out at once: the transport's buffer (and the
            # producer it pauses) sees the real volume, so backpressure still works.
            self._transport.write(out)
        if self._call_soon is None:
            self.flush()
        elif not self._flush_scheduled:
            self._flush_scheduled = True
            self._call_soon(self._scheduled_flush)

    def writeSequence(self, data: Iterable[bytes]) -> None:
        self.write(b"".join(data))

    def _scheduled_flush(self) -> None:
        self._flush_scheduled = False
        self.flush()

    def flush(self) -> None:
        """Send everything written so far (``Z_SYNC_FLUSH``); nothing when idle."""
        if self._closed:
            return
        out = self.deflater.flush()
        if out:
            self._transport.write(out)

    def loseConnection(self) -> None:
        self.flush()
        self._closed = True
        self._transport.loseConnection()

    def abortConnection(self) -> None:
        self._closed = True
        self._transport.abortConnection()

    # -- input ----------------------------------------------------------------

    def receive(self, data: bytes) -> None:
        """Compressed bytes from the socket (installed as the protocol's ``dataReceived``)."""
        if self._closed:
            return
        try:
            self.inflater.feed(data)
        except CompressionError as e:
            self._fail(e)
            return
        self._pump()

    def _pump(self) -> None:
        if self._pumping:
            return  # deliver() resumed us from inside the loop below
        self._pumping = True
        try:
            while not self._paused and not self._closed:
                try:
                    piece = self.inflater.read()
                except CompressionError as e:
                    self._fail(e)
                    return
                if not piece:
                    return
                self._deliver(piece)
        finally:
            self._pumping = False

    def _fail(self, error: CompressionError) -> None:
        if self._on_error is not None:
            self._on_error(error)
            return
        peer = getattr(self._transport.getPeer(), "host", "?")
        self.log.info("imap: {error} (rip={peer}); disconnecting", error=str(error), peer=peer)
        self.write(untagged_status(BYE, "Invalid compressed data."))
        self.loseConnection()

    # -- reading flow control (IProducer of the socket's input) ---------------

    def pauseProducing(self) -> None:
        self._paused = True
        self._transport.pauseProducing()

    def resumeProducing(self) -> None:
        self._paused = False
        self._pump()  # input expanded while paused was held back; hand it over first
        if not self._paused:
            self._transport.resumeProducing()

    def stopProducing(self) -> None:
        self._closed = True
        self._transport.stopProducing()


def start_compression(
    protocol: Any,
    call_soon: CallSoon | None = None,
    *,
    leftover: bytes = b"",
    **options: Any,
) -> CompressedTransport:
    """Compress an established connection from now on (RFC 4978 section 3).

    Call it right after writing the tagged ``OK`` of COMPRESS, which must go
    out uncompressed. It replaces ``protocol.transport`` with a
    :class:`CompressedTransport` and routes ``protocol.dataReceived`` through
    it (the real transport looks ``dataReceived`` up on each read, for TCP and
    TLS alike), so the protocol code stays as it is.

    Args:
        protocol: the connected protocol (``ImapProtocol``).
        call_soon: see :class:`CompressedTransport`.
        leftover: bytes already read after the COMPRESS command line (they
            are compressed: the client compresses from the OK on).
        **options: ``level``, ``mem_level``, ``piece_bytes``, ``on_error``.

    Returns:
        The installed wrapper (its ``deflater``/``inflater`` count bytes for the log).
    """
    original = protocol.dataReceived  # the bound method of the protocol's class
    wrapper = CompressedTransport(protocol.transport, original, call_soon, **options)
    protocol.transport = wrapper
    protocol.dataReceived = wrapper.receive
    if leftover:
        wrapper.receive(leftover)
    return wrapper
