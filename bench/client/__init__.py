"""asyncio protocol clients for load generation: many connections, one event loop."""

from __future__ import annotations

from bench.client.imap import ImapClient, ImapProtocolError
from bench.client.lmtp import LmtpClient, LmtpProtocolError
from bench.client.pop3 import Pop3Client, Pop3ProtocolError

__all__ = [
    "ImapClient",
    "ImapProtocolError",
    "LmtpClient",
    "LmtpProtocolError",
    "Pop3Client",
    "Pop3ProtocolError",
]
