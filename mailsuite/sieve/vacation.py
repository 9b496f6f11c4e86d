"""When a vacation answer is allowed, and what it says (RFC 5230, RFC 3834).

The message alone decides whether an answer may go out; whether this sender
was already answered within ``:days`` is the delivery code's memory. We
never answer:

- the null reverse-path, or a sender that is one of the user's own addresses;
- system and list-software senders (RFC 5230 4.6): MAILER-DAEMON, LISTSERV,
  majordomo, ``owner-*``, ``*-request``, ``*-owner``, and no-reply addresses;
- automatic mail: ``Auto-Submitted`` other than "no" (RFC 3834 5);
- bulk, list and junk ``Precedence``, or any ``List-*`` header (RFC 2369, 2919);
- messages that do not name one of the user's addresses in To, Cc, Bcc,
  Resent-To, Resent-Cc or Resent-Bcc (RFC 5230 4.5).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from mailsuite.sieve.actions import Vacation
from mailsuite.sieve.address import AddressPart, address_part, header_addresses, split_local
from mailsuite.sieve.context import EvalOptions, MessageContext
from mailsuite.sieve.match import ascii_casefold

__all__ = ["VacationRequest", "build_vacation", "own_addresses"]

_DAY_S: Final = 86400
_CONTROLS: Final = re.compile(r"[\x00-\x1f\x7f\s]+")
_NEVER_ANSWER_LOCAL: Final = frozenset(
    {"mailer-daemon", "listserv", "majordomo", "noreply", "no-reply", "do-not-reply", "donotreply"}
)
_LIST_HEADERS: Final = (
    "List-Id",
    "List-Help",
    "List-Subscribe",
    "List-Unsubscribe",
    "List-Post",
    "List-Owner",
    "List-Archive",
)
_BULK_PRECEDENCE: Final = frozenset({"bulk", "list", "junk"})
_RECIPIENT_HEADERS: Final = ("To", "Cc", "Bcc", "Resent-To", "Resent-Cc", "Resent-Bcc")


@dataclass(frozen=True, slots=True)
class VacationRequest:
    """A ``vacation`` command with every string already expanded."""

    reason: str
    days: int | None
    seconds: int | None
    subject: str | None
    from_addr: str | None
    addresses: tuple[str, ...]
    mime: bool
    handle: str | None


def _bare(address: str) -> str:
    address = address.strip()
    if address.startswith("<") and address.endswith(">"):
        address = address[1:-1]
    return address


def own_addresses(ctx: MessageContext, extra: Iterable[str] = ()) -> frozenset[str]:
    """The recipient's addresses, case-folded (RFC 5230 4.5 items 1 to 3).

    The envelope recipient also counts without its detail ("ken+x@" is "ken@").
    """
    out: set[str] = set()
    for addr in (ctx.envelope_to, ctx.original_recipient, *ctx.user_addresses, *extra):
        addr = _bare(addr)
        if not addr:
            continue
        out.add(ascii_casefold(addr))
        user = address_part(addr, AddressPart.USER, ctx.recipient_delimiter)
        _, domain = split_local(addr)
        if user is not None and domain:
            out.add(ascii_casefold(f"{user}@{domain}"))
    return frozenset(out)


def _automatic_sender(sender: str) -> bool:
    local, _ = split_local(ascii_casefold(sender))
    return (
        local in _NEVER_ANSWER_LOCAL
        or local.startswith("owner-")
        or local.endswith("-request")
        or local.endswith("-owner")
    )


def _first_word(value: str) -> str:
    # "auto-replied; comment", "bulk (x)": the keyword is the first token.
    word = value.strip().split(";", 1)[0].split("(", 1)[0].strip()
    return ascii_casefold(word)


def _is_automatic(ctx: MessageContext) -> bool:
    for value in ctx.header_values("Auto-Submitted"):
        # RFC 3834 5: anything but "no" marks automatic mail.
        if _first_word(value) != "no":
            return True
    for value in ctx.header_values("Precedence"):
        if _first_word(value) in _BULK_PRECEDENCE:
            return True
    if any(ctx.header_values(h) for h in _LIST_HEADERS):
        return True
    # Microsoft's "do not auto-reply" marker (MS-OXCMAIL 2.2.3.2.14).
    for value in ctx.header_values("X-Auto-Response-Suppress"):
        words = {ascii_casefold(w.strip()) for w in value.split(",")}
        if words & {"all", "oof", "autoreply"}:
            return True
    return False


def _one_line(text: str) -> str:
    # The subject goes into a header of the answer: a decoded "=0D=0A" or a
    # multi-line script string must not start a header of its own there.
    return _CONTROLS.sub(" ", text).strip()


def _default_handle(cmd: VacationRequest) -> str:
    # RFC 5230 4.2: without :handle, a changed reason, subject, from or mime
    # is a new vacation message, so those make up the handle.
    h = hashlib.sha256()
    for part in (cmd.reason, cmd.subject or "", cmd.from_addr or "", "mime" if cmd.mime else ""):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return "auto-" + h.hexdigest()[:32]


def _period_s(cmd: VacationRequest, options: EvalOptions) -> int:
    max_s = options.vacation_max_days * _DAY_S
    if cmd.seconds is not None:
        # RFC 6131 2: ":seconds 0" means answer every message; cap at the site maximum.
        return max(0, min(cmd.seconds, max_s))
    days = options.vacation_default_days if cmd.days is None else cmd.days
    # RFC 5230 4.1: the site may raise values below its minimum (which is at least 1).
    days = max(options.vacation_min_days, 1, min(days, options.vacation_max_days))
    return days * _DAY_S


def build_vacation(
    cmd: VacationRequest, ctx: MessageContext, options: EvalOptions
) -> Vacation | None:
    """The vacation answer for this message, or None when none may be sent."""
    sender = _bare(ctx.envelope_from)
    if not sender or "@" not in sender:
        return None  # RFC 3834 2: never answer the null reverse-path
    mine = own_addresses(ctx, cmd.addresses)
    if cmd.from_addr:
        mine = mine | own_addresses(ctx, header_addresses([cmd.from_addr]))
    if ascii_casefold(sender) in mine or _automatic_sender(sender):
        return None
    if _is_automatic(ctx):
        return None
    # Undecoded values when we have them: a decoded display name may hold a comma.
    values = ctx.raw_header_values or ctx.header_values
    named = header_addresses(
        [v.replace("\r", "").replace("\n", "") for h in _RECIPIENT_HEADERS for v in values(h)]
    )
    own = next((a for a in named if ascii_casefold(a) in mine), None)
    if own is None:
        return None
    if cmd.subject is not None:
        subject = _one_line(cmd.subject)
    else:
        original = ctx.header_values("Subject")
        text = _one_line(original[0]) if original else ""
        # RFC 5230 4.3: "Auto:" and the original subject.
        subject = f"Auto: {text}" if text else "Automated reply"
    return Vacation(
        recipient=sender,
        subject=subject,
        body=cmd.reason,
        from_addr=cmd.from_addr,
        days_s=_period_s(cmd, options),
        handle=cmd.handle if cmd.handle is not None else _default_handle(cmd),
        mime=cmd.mime,
        addresses=cmd.addresses,
        own_address=own,
    )
