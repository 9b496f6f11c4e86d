"""What the interpreter is told about one message and one recipient.

The Sieve package never reads a message itself: the delivery code hands it a
:class:`MessageContext` of callables and values, so the same interpreter runs
over a lazily parsed Maildir file, an LMTP spool or a test's dictionary.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["EvalOptions", "MessageContext"]


@dataclass(frozen=True, slots=True)
class MessageContext:
    """One message being delivered to one recipient.

    Args:
        header_values: all values of a header field, RFC 2047-decoded and
            unfolded, in message order; an empty list when it is absent.
        size: the message size in octets (RFC 5228 5.9).
        envelope_from: the MAIL FROM address, without angle brackets; ""
            for the null reverse-path.
        envelope_to: the RCPT TO address that caused this delivery.
        original_recipient: the ORCPT address when the MTA passed one.
        recipient_delimiter: the characters that separate user from detail
            (RFC 5233); each character is a separator.
        body_text: the decoded text of the message's text parts (unused by
            the Sieve-lite language today; reserved for the body extension).
        mailbox_exists: answers ``mailboxexists`` (RFC 5490 3.1) for the
            recipient; when None only "INBOX" is known to exist.
        user_addresses: further addresses the implementation knows belong to
            the recipient (RFC 5230 4.5, item 1), e.g. aliases from the userdb.
        raw_header_values: the header values as they are on the wire (not
            RFC 2047-decoded). The address tests parse these when given, so a
            decoded display name holding a comma cannot split one address in two.
        now: the delivery time with the server's zone, for ``currentdate`` and
            as the local zone of ``date`` (RFC 5260); the system clock when None.
    """

    header_values: Callable[[str], list[str]]
    size: int
    envelope_from: str
    envelope_to: str
    original_recipient: str = ""
    recipient_delimiter: str = "+"
    body_text: Callable[[], str] | None = None
    mailbox_exists: Callable[[str], bool] | None = None
    user_addresses: tuple[str, ...] = ()
    raw_header_values: Callable[[str], list[str]] | None = None
    now: dt.datetime | None = None


_DEFAULT_MAX_REDIRECTS: Final = 4
_DEFAULT_MAX_ACTIONS: Final = 32


@dataclass(frozen=True, slots=True)
class EvalOptions:
    """Site policy for running scripts (the ``[sieve]`` settings).

    Args:
        max_redirects: redirects one message may cause; more is a runtime
            error (Dovecot's ``sieve_max_redirects``), which bounds how far a
            redirect loop between users can fan out.
        max_actions: actions one run may collect (Dovecot's ``sieve_max_actions``).
        vacation_min_days: ``:days`` below this is raised to it (RFC 5230 4.1).
        vacation_max_days: ``:days`` above this is lowered to it.
        vacation_default_days: ``:days`` when the script gives none (RFC 5230 4.1: 7).
    """

    max_redirects: int = _DEFAULT_MAX_REDIRECTS
    max_actions: int = _DEFAULT_MAX_ACTIONS
    vacation_min_days: int = 1
    vacation_max_days: int = 90
    vacation_default_days: int = 7

    @classmethod
    def from_settings(cls, sieve: Any) -> EvalOptions:
        """Build from a :class:`mailsuite.config.schema.SieveSettings` (or anything alike)."""
        return cls(
            max_redirects=int(getattr(sieve, "max_redirects", _DEFAULT_MAX_REDIRECTS)),
            max_actions=int(getattr(sieve, "max_actions", _DEFAULT_MAX_ACTIONS)),
            vacation_min_days=int(getattr(sieve, "vacation_min_days", 1)),
            vacation_max_days=int(getattr(sieve, "vacation_max_days", 90)),
        )
