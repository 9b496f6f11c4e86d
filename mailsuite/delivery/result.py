"""What one recipient's delivery did, in protocol-neutral terms.

LMTP turns a :class:`DeliveryResult` into that recipient's reply, ``mailsuite
deliver`` into a sendmail exit code. Mail the delivery wants sent (Sieve
redirect, vacation answers) comes back as :class:`Outgoing` for the caller to
hand to the SMTP relay: delivery itself does no network I/O.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

__all__ = ["DeliveryRequest", "DeliveryResult", "Outgoing", "Status"]


class Status(enum.Enum):
    OK = "ok"
    TEMPFAIL = "tempfail"  # try again later (LMTP 4xx, EX_TEMPFAIL 75)
    PERMFAIL = "permfail"  # bounce (LMTP 5xx, EX_NOUSER 67 / EX_UNAVAILABLE 69)


@dataclass(frozen=True, slots=True)
class DeliveryRequest:
    """One recipient of one message.

    Attributes:
        user: the canonical user name (from the userdb).
        recipient: the envelope recipient as given, with any ``+detail``.
        sender: the envelope sender, ``""`` for the null reverse-path.
        detail: the address extension (RFC 5233 ``:detail``), ``""`` when none.
        session_id: names the session in logs and in the reply.
        service: "lmtp" or "lda", for log lines.
    """

    user: str
    recipient: str
    sender: str = ""
    detail: str = ""
    session_id: str = ""
    service: str = "lmtp"  # names the delivering service in log lines ("lmtp", "lda")


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message to send through the relay.

    ``prefix`` goes before the spooled body when ``include_body`` is true
    (redirect); otherwise ``prefix`` is the whole message (vacation).
    """

    kind: str  # "redirect" | "vacation"
    sender: str  # envelope MAIL FROM; "" for the null path
    recipients: tuple[str, ...]
    prefix: bytes
    include_body: bool = False


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """The outcome for one recipient.

    Attributes:
        status: ok, tempfail or permfail.
        code: the SMTP/LMTP reply code (250, 451, 552 ...).
        enhanced: the RFC 3463 status code ("2.0.0", "4.2.2" ...).
        text: client-safe reply text.
        stored: the mailboxes that received a copy.
        outgoing: mail to send through the relay, in order. When nothing was
            stored and sending fails, the caller must tempfail, never drop.
    """

    status: Status
    code: int
    enhanced: str
    text: str
    stored: tuple[str, ...] = ()
    outgoing: tuple[Outgoing, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.status is Status.OK

    @classmethod
    def saved(
        cls, text: str, stored: tuple[str, ...], outgoing: tuple[Outgoing, ...] = ()
    ) -> DeliveryResult:
        return cls(Status.OK, 250, "2.0.0", text, stored, outgoing)

    @classmethod
    def tempfail(cls, code: int, enhanced: str, text: str) -> DeliveryResult:
        return cls(Status.TEMPFAIL, code, enhanced, text)

    @classmethod
    def permfail(cls, code: int, enhanced: str, text: str) -> DeliveryResult:
        return cls(Status.PERMFAIL, code, enhanced, text)
