"""Relay bytes both ways between a client and a backend, with backpressure.

After the backend login the front end stops parsing: every byte from the
client goes to the backend and back, unchanged. Each transport is registered
as the streaming producer of the other (Twisted's producer/consumer), so when
the backend's send buffer is full we stop reading from the client, and the
other way round; memory stays bounded whatever the speeds. When either side
closes, the other is closed after its pending output is flushed, exactly once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.logger import Logger

__all__ = ["Relay"]


class Relay:
    """Couples two connected transports.

    The protocols that own the transports pass their events in:
    :meth:`from_client`, :meth:`from_backend`, :meth:`client_lost`,
    :meth:`backend_lost`.

    Args:
        client: the client's transport.
        backend: the backend's transport.
        log_prefix: names the session in the log line written at the end.
        on_end: called once with which side ended the relay ("client" or "backend").
    """

    log = Logger()

    def __init__(
        self,
        client: Any,
        backend: Any,
        log_prefix: str = "proxy",
        on_end: Callable[[str], None] | None = None,
    ) -> None:
        self.client = client
        self.backend = backend
        self.log_prefix = log_prefix
        self.on_end = on_end
        self.bytes_from_client = 0
        self.bytes_from_backend = 0
        self.ended_by = ""

    def start(self, from_client: bytes = b"", from_backend: bytes = b"") -> None:
        """Begin relaying; the buffers are bytes each side sent before the relay began."""
        # Streaming (push) producers: a full consumer pauses the other side's reading.
        self.backend.registerProducer(self.client, True)
        self.client.registerProducer(self.backend, True)
        if from_backend:
            self.from_backend(from_backend)
        if from_client:
            self.from_client(from_client)
        # Reading may have been paused during the backend login.
        for transport in (self.client, self.backend):
            resume = getattr(transport, "resumeProducing", None)
            if resume is not None:
                resume()

    @property
    def active(self) -> bool:
        return not self.ended_by

    def from_client(self, data: bytes) -> None:
        if self.ended_by:
            return
        self.bytes_from_client += len(data)
        self.backend.write(data)

    def from_backend(self, data: bytes) -> None:
        if self.ended_by:
            return
        self.bytes_from_backend += len(data)
        self.client.write(data)

    def client_lost(self) -> None:
        self._end("client", self.backend)

    def backend_lost(self) -> None:
        self._end("backend", self.client)

    def _end(self, side: str, other: Any) -> None:
        if self.ended_by:
            return
        self.ended_by = side
        for transport in (self.client, self.backend):
            try:
                transport.unregisterProducer()
            except Exception:  # already gone: nothing left to unregister
                pass
        # loseConnection writes out what is buffered first: the client gets the
        # backend's last words (BYE, +OK goodbye) before the close.
        other.loseConnection()
        self.log.info(
            "{prefix}: proxy session ended by the {side} (in={inb} out={outb} bytes)",
            prefix=self.log_prefix,
            side=side,
            inb=self.bytes_from_client,
            outb=self.bytes_from_backend,
        )
        if self.on_end is not None:
            self.on_end(side)
