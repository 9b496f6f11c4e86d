"""Sieve redirects and vacation answers out through ``[sieve] relay`` (Twisted's SMTP client).

Twisted's client converts local LF line ends to CRLF and dot-stuffs chunk by
chunk, so the message is handed over with LF line ends, and never split
right after a line end (a chunk boundary between "\\n" and "." would escape
its stuffing).
"""

from __future__ import annotations

import io
from typing import Any, BinaryIO

from twisted.internet.defer import Deferred
from twisted.mail import smtp

from mailsuite.delivery.result import Outgoing
from mailsuite.delivery.spool import PrefixedReader, Spool
from mailsuite.errors import ConfigError

__all__ = ["LfReader", "RelaySender", "parse_relay"]

RELAY_TIMEOUT_S = 120.0  # whole SMTP transaction to the relay
RELAY_CONNECT_TIMEOUT_S = 30.0


def parse_relay(value: str) -> tuple[str, int]:
    """``host:port`` (or ``host``, port 25) of the relay.

    Raises:
        ConfigError: naming ``[sieve] relay``.
    """
    host, sep, port = value.rpartition(":")
    if not sep:
        host, port = value, "25"
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f'[sieve] relay: expected "host:port", got {value!r}')
    return host.strip("[]"), int(port)


class LfReader(io.RawIOBase):
    """Reads a CRLF (or mixed) stream as LF lines, never ending a read right after LF."""

    def __init__(self, raw: BinaryIO | io.RawIOBase) -> None:
        super().__init__()
        self._raw = raw
        self._pending = b""
        self._eof = False

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        want = 65536 if size is None or size < 0 else max(size, 2)
        while True:
            data = self._pending
            if not self._eof:
                more = self._raw.read(want)
                if not more:
                    self._eof = True
                data += more
            data = data.replace(b"\r\n", b"\n")
            if self._eof:
                self._pending = b""
                return data
            # Hold back a CR (maybe half a CRLF) and a final LF (a "." may follow).
            cut = len(data)
            while cut and data[cut - 1 : cut] in (b"\r", b"\n"):
                cut -= 1
            self._pending = data[cut:]
            if cut:
                return data[:cut]

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


class RelaySender:
    """Sends :class:`Outgoing` mail to one SMTP relay.

    Args:
        reactor: the reactor to connect with.
        host: relay host.
        port: relay port.
        helo: our name in EHLO.
    """

    def __init__(self, reactor: Any, host: str, port: int, helo: str) -> None:
        self._reactor = reactor
        self._host = host
        self._port = port
        self._helo = helo

    def __call__(self, out: Outgoing, spool: Spool) -> Deferred[None]:
        if out.include_body:
            message: Any = LfReader(PrefixedReader(out.prefix, spool.open()))
        else:
            message = LfReader(io.BytesIO(out.prefix))
        connector: Any = None

        def cancel(_: Deferred[Any]) -> None:
            if connector is not None:
                connector.disconnect()

        d: Deferred[Any] = Deferred(cancel)
        # Built by hand rather than smtp.sendmail(): no retries (the message file is
        # consumed by the first attempt; the MTA retries the whole delivery), no
        # STARTTLS demand on a loopback relay, and a connect timeout.
        factory = smtp.ESMTPSenderFactory(
            None,
            None,
            out.sender.encode("utf-8"),
            [r.encode("utf-8") for r in out.recipients],
            message,
            d,
            retries=0,
            timeout=RELAY_TIMEOUT_S,
            heloFallback=True,
            requireAuthentication=False,
            requireTransportSecurity=False,
            hostname=self._host,
        )
        factory.domain = self._helo.encode("utf-8")
        connector = self._reactor.connectTCP(
            self._host, self._port, factory, timeout=RELAY_CONNECT_TIMEOUT_S
        )
        # A relay that accepts the connection and then stalls must not hold the
        # LMTP reply (and the MTA's connection) forever.
        d.addTimeout(RELAY_TIMEOUT_S, self._reactor)

        def done(result: Any) -> None:
            message.close()
            return None

        def failed(failure: Any) -> Any:
            message.close()
            return failure

        d.addCallbacks(done, failed)
        return d
