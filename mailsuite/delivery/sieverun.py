"""Runs a user's Sieve scripts over a spooled message and merges their actions into a plan.

The Sieve package decides and never writes; this module asks it and turns the
answer into a :class:`Plan` that ``deliver.py`` executes. Any script error
means keep (RFC 5228 section 2.10.6): a broken filter never loses mail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from twisted.logger import Logger

from mailsuite.delivery.result import DeliveryRequest
from mailsuite.delivery.spool import Spool
from mailsuite.errors import MailError
from mailsuite.store.api import MailStore

if TYPE_CHECKING:
    from mailsuite.delivery.deliver import DeliveryOptions

__all__ = ["Plan", "run_scripts", "strip_detail"]

log = Logger()


@dataclass
class Plan:
    """What to do with one recipient's copy."""

    keep: bool = True
    keep_flags: frozenset[str] = frozenset()
    targets: list[tuple[str, frozenset[str]]] = field(default_factory=list)  # fileinto
    create: set[str] = field(default_factory=set)  # fileinto :create mailboxes
    redirects: list[str] = field(default_factory=list)
    vacations: list[Any] = field(default_factory=list)  # mailsuite.sieve.Vacation
    reject: str | None = None
    message_id: str = ""
    references: str = ""


def strip_detail(address: str, delimiters: str) -> tuple[str, str]:
    """Split ``user+detail@domain`` into (``user@domain``, ``detail``) (RFC 5233)."""
    local, at, domain = address.rpartition("@")
    if not at:
        local, domain = address, ""
    cut = min((i for i in (local.find(d) for d in delimiters) if i >= 0), default=-1)
    if cut < 0:
        return address, ""
    base = local[:cut] + (f"@{domain}" if at else "")
    return base, local[cut + 1 :]


def _load_message(spool: Spool) -> Any:
    from mailsuite.message import Message

    if spool.path is not None:
        return Message.from_path(spool.path)
    with spool.open() as f:
        return Message.from_bytes(f.read())


def run_scripts(
    scripts: Sequence[tuple[str, Any]],
    spool: Spool,
    request: DeliveryRequest,
    opts: DeliveryOptions,
    store: MailStore,
) -> Plan:
    """Run ``scripts`` as one program (global before, the user's, global after).

    They share one implicit keep (``evaluate_all``); a runtime error keeps.
    """
    from mailsuite.sieve import (
        Discard,
        FileInto,
        Keep,
        MessageContext,
        Redirect,
        Reject,
        Vacation,
        evaluate_all,
    )

    who = f"{request.service}({request.user})<{request.session_id}>"
    msg = _load_message(spool)
    plan = Plan()
    plan.message_id = (msg.raw_header_values("Message-ID") or [""])[0].strip()
    plan.references = " ".join(v.strip() for v in msg.raw_header_values("References"))
    base_addr, _ = strip_detail(request.recipient, opts.recipient_delimiter)
    # A copy that already passed through this recipient is looping; do not send it on.
    delivered = {v.strip().strip("<>").lower() for v in msg.header_values("Delivered-To")}
    loop = request.recipient.lower() in delivered or base_addr.lower() in delivered

    def mailbox_exists(name: str) -> bool:
        try:
            return any(info.name == name for info in store.list_mailboxes())
        except MailError:
            return False

    def body_text() -> str:
        return "\n".join(msg.text_parts())

    ctx = MessageContext(
        header_values=msg.header_values,
        size=spool.size,
        envelope_from=request.sender,
        envelope_to=request.recipient,
        original_recipient=request.recipient,
        recipient_delimiter=opts.recipient_delimiter,
        body_text=body_text,
        mailbox_exists=mailbox_exists,
        user_addresses=(base_addr,),
    )
    try:
        actions = evaluate_all([script for _, script in scripts], ctx, opts.sieve_options)
    except Exception as e:  # SieveError names script and line; a bug must not lose mail either
        log.error(
            "{who}: sieve: script {path} failed, keeping the message: {err}",
            who=who,
            path=getattr(e, "path", ", ".join(p for p, _ in scripts)),
            err=str(e),
        )
        actions = [Keep()]
    keep = False
    for action in actions:
        match action:
            case Keep(flags=flags):
                keep = True
                plan.keep_flags |= flags
            case FileInto(mailbox=box, flags=flags, create=create):
                plan.targets.append((box, frozenset(flags)))
                if create:
                    plan.create.add(box)
            case Redirect(address=address):
                if loop:
                    log.warn(
                        "{who}: sieve: not redirecting to {to}: mail loop (Delivered-To)",
                        who=who,
                        to=address,
                    )
                    keep = True
                else:
                    plan.redirects.append(address)
            case Reject(reason=reason):
                if plan.reject is None:
                    plan.reject = reason
            case Vacation():
                if not loop:
                    plan.vacations.append(action)
            case Discard():
                pass
    plan.keep = keep
    return plan
