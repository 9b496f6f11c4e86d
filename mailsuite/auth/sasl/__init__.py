"""SASL mechanisms as pure state machines (RFC 4422): bytes in, a step result out.

No Twisted, no I/O: a mechanism turns client responses into challenges and,
at the end, into twisted.cred credentials that the portal checks. The auth
service drives them (and does the lookups SCRAM needs between steps), so IMAP
AUTHENTICATE, POP3 AUTH and the login front end share one implementation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

__all__ = [
    "Challenge",
    "Complete",
    "Failed",
    "MAX_RESPONSE_BYTES",
    "Mechanism",
    "NeedSecret",
    "PLAINTEXT_MECHANISMS",
    "StepResult",
    "decode_utf8",
]

PLAINTEXT_MECHANISMS = frozenset({"PLAIN", "LOGIN"})
MAX_RESPONSE_BYTES = 16 * 1024  # no legitimate SASL response we accept is larger


@dataclass(frozen=True)
class Challenge:
    """Send this to the client (the protocol base64-encodes it) and wait for a response."""

    data: bytes


@dataclass(frozen=True)
class Complete:
    """The client has said everything: check these credentials."""

    credentials: Any


@dataclass(frozen=True)
class Failed:
    """The exchange is malformed; ``reason`` is for the log."""

    reason: str


@dataclass(frozen=True)
class NeedSecret:
    """SCRAM: look up the user's SCRAM secret and hand it to ``provide()``."""

    authcid: str
    authzid: str


StepResult = Challenge | Complete | Failed | NeedSecret


class Mechanism(Protocol):
    name: ClassVar[str]

    def step(self, response: bytes | None) -> StepResult:
        """Consume one client response (None: no initial response was sent)."""
        ...


def decode_utf8(data: bytes) -> str | None:
    """UTF-8 text, or None when the bytes are not valid UTF-8 or contain NUL."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return None if "\0" in text else text
