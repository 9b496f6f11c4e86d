"""One recipient's delivery: headers added, Sieve decided, copies stored durably.

:func:`deliver` is synchronous and blocking (the LMTP server runs it in the
thread pool, ``mailsuite deliver`` directly). It never raises for a bad
message, a broken script or a full disk: every outcome is a
:class:`DeliveryResult` with an enhanced status code, and a script that fails
to compile or run falls back to keep (RFC 5228 section 2.10.6), so mail is
never lost to a filter bug.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from twisted.logger import Logger

from mailsuite.delivery.handles import DirectOpener, MailboxOpener
from mailsuite.delivery.result import DeliveryRequest, DeliveryResult, Outgoing
from mailsuite.delivery.sieverun import Plan, run_scripts
from mailsuite.delivery.spool import PrefixedReader, Spool
from mailsuite.delivery.vacation import VacationMemory, build_vacation_reply
from mailsuite.errors import ErrorKind, MailError
from mailsuite.store.api import INBOX, MailStore

__all__ = ["DeliveryOptions", "deliver", "header_prefix"]

log = Logger()


@dataclass(frozen=True)
class DeliveryOptions:
    """Site policy for delivery (from ``[lmtp]``, ``[sieve]`` and ``[server]``).

    Attributes:
        hostname: our name, for Message-IDs of generated mail.
        recipient_delimiter: RFC 5233 separators, each character one separator.
        detail_as_folder: a plain keep of ``user+detail`` goes to folder "detail"
            when it exists.
        quota_full_tempfail: over quota is 452 4.2.2 (true) or 552 5.2.2 (false).
        sieve_options: a :class:`mailsuite.sieve.EvalOptions`, or None for defaults.
        vacation: the answered-senders memory (None: vacation never answers).
    """

    hostname: str = "localhost"
    recipient_delimiter: str = "+"
    detail_as_folder: bool = False
    quota_full_tempfail: bool = False
    sieve_options: Any = None
    vacation: VacationMemory | None = None
    clock: Callable[[], float] = field(default=time.time)


_MESSAGE_ID = re.compile(rb"(?im)^message-id:[ \t]*(<[^>\r\n]{1,200}>)")


def _sniff(spool: Spool) -> tuple[bytes, str]:
    """The body's own line end (LF from pipes, CRLF from LMTP) and its Message-ID for logs."""
    head = spool.read_head(16 * 1024)
    nl = head.find(b"\n")
    eol = b"\n" if nl > 0 and head[nl - 1 : nl] != b"\r" else b"\r\n"
    end = head.find(eol + eol)
    m = _MESSAGE_ID.search(head, 0, end if end >= 0 else len(head))
    return eol, m.group(1).decode("ascii", "replace") if m else ""


def _clean(value: str) -> str:
    # Header injection guard: an address never carries a line break into the header.
    return value.replace("\r", "").replace("\n", "")


def header_prefix(request: DeliveryRequest, eol: bytes = b"\r\n") -> bytes:
    """Return-Path (RFC 5321 section 4.4) and Delivered-To lines for this copy."""
    lines = [
        f"Return-Path: <{_clean(request.sender)}>",
        f"Delivered-To: {_clean(request.recipient)}",
    ]
    return b"".join(line.encode("utf-8") + eol for line in lines)


def _quota_fail(opts: DeliveryOptions, detail: str) -> DeliveryResult:
    if opts.quota_full_tempfail:
        return DeliveryResult.tempfail(452, "4.2.2", f"Mailbox is full: {detail}")
    return DeliveryResult.permfail(552, "5.2.2", f"Mailbox is full: {detail}")


def deliver(
    store: MailStore,
    spool: Spool,
    request: DeliveryRequest,
    *,
    scripts: Sequence[tuple[str, Any]] = (),
    options: DeliveryOptions | None = None,
    mailboxes: MailboxOpener | None = None,
) -> DeliveryResult:
    """Deliver one finished spool to one user.

    Args:
        store: the recipient's mail store.
        spool: the message body (finished).
        request: who receives it and from whom.
        scripts: ``(path, compiled Script)`` pairs run in order (global
            before, the user's, global after); empty: plain keep.
        options: site policy.
        mailboxes: where mailbox handles come from (LMTP keeps them open
            between deliveries: ``handles.HandleCache``); None: opened and
            closed here.

    Returns:
        The outcome; ``outgoing`` lists mail (redirect, vacation) the caller sends.
    """
    opts = options or DeliveryOptions()
    opener = mailboxes if mailboxes is not None else DirectOpener(store)
    who = f"{request.service}({request.user})<{request.session_id}>"
    try:
        eol, msgid = _sniff(spool)
        who = f"{who}: msgid={msgid or '(none)'}"
        prefix = header_prefix(request, eol)
        plan = run_scripts(scripts, spool, request, opts, store) if scripts else Plan()
        if plan.reject is not None:
            log.info("{who}: rejected by Sieve: {reason}", who=who, reason=plan.reject)
            # RFC 5429 section 2.1: in LMTP, refusing the message is the preferred reject.
            return DeliveryResult.permfail(550, "5.7.1", plan.reject)
        targets = plan.targets
        if plan.keep:
            targets = [(_keep_folder(store, request, opts), plan.keep_flags), *targets]
        stored: list[str] = []
        seen: set[str] = set()
        for name, flags in targets:
            key = name.upper() if name.upper() == INBOX else name
            if key in seen:
                continue  # RFC 5228 section 4.1: the same mailbox gets one copy
            seen.add(key)
            stored.append(_store_copy(store, opener, spool, prefix, name, flags, plan, who))
        outgoing = list(_redirects(plan, request, spool, eol))
        outgoing.extend(_vacations(plan, request, spool, opts, who))
        text = f"<{request.recipient}> {request.session_id} Saved".replace("  ", " ")
        if not stored:
            text = f"<{request.recipient}> {request.session_id} Processed".replace("  ", " ")
        log.info(
            "{who}: from <{sender}> saved to {boxes}{extra}",
            who=who,
            sender=request.sender,
            boxes=", ".join(stored) or "(no mailbox)",
            extra="".join(f", {o.kind} to {','.join(o.recipients)}" for o in outgoing),
        )
        return DeliveryResult.saved(text, tuple(stored), tuple(outgoing))
    except MailError as e:
        if e.kind is ErrorKind.NO_QUOTA:
            log.info("{who}: quota exceeded: {detail}", who=who, detail=e.detail)
            return _quota_fail(opts, e.message)
        log.error(
            "{who}: failed to save mail in {root}: {detail}",
            who=who,
            root=store.root,
            detail=e.detail,
        )
        return DeliveryResult.tempfail(451, "4.3.0", "Temporary failure storing the message")
    except OSError as e:
        log.error(
            "{who}: I/O error saving mail in {root}: {err}",
            who=who,
            root=store.root,
            err=e,
        )
        return DeliveryResult.tempfail(451, "4.3.0", "Temporary failure storing the message")


def _keep_folder(store: MailStore, request: DeliveryRequest, opts: DeliveryOptions) -> str:
    if opts.detail_as_folder and request.detail:
        try:
            names = {info.name for info in store.list_mailboxes()}
        except MailError:
            return INBOX
        if request.detail in names:
            return request.detail
    return INBOX


def _store_copy(
    store: MailStore,
    opener: MailboxOpener,
    spool: Spool,
    prefix: bytes,
    name: str,
    flags: frozenset[str],
    plan: Plan,
    who: str,
) -> str:
    """Append one copy into ``name`` (creating it for fileinto :create); returns the box used."""
    try:
        box = opener.open_mailbox(name)
    except MailError as e:
        if e.kind is not ErrorKind.NOT_FOUND or name == INBOX:
            raise
        if name in plan.create:
            try:
                store.create_mailbox(name)
            except MailError as ce:
                if ce.kind is not ErrorKind.EXISTS:
                    raise
            box = opener.open_mailbox(name)
        else:
            # RFC 5228 4.1 leaves this to us; like Dovecot we do not lose the mail.
            log.warn(
                "{who}: fileinto mailbox {name!r} does not exist; saved to INBOX",
                who=who,
                name=name,
            )
            name = INBOX
            box = opener.open_mailbox(INBOX)
    reusable = False
    try:
        small = spool.in_memory()
        if small is not None:
            box.append(prefix + small, flags)  # lets the store check quota before writing
        else:
            reader = io.BufferedReader(PrefixedReader(prefix, spool.open()), 256 * 1024)
            with reader:
                box.append(reader, flags)
        reusable = True
    finally:
        # A handle whose append failed is closed, never handed to the next delivery.
        opener.release(box, reusable=reusable)
    return name


def _redirects(plan: Plan, request: DeliveryRequest, spool: Spool, eol: bytes):
    for address in plan.redirects:
        yield Outgoing(
            kind="redirect",
            sender=request.sender,
            recipients=(address,),
            # A later hop sees this and stops a loop (see sieverun.delivered_to_loop).
            prefix=f"Delivered-To: {_clean(request.recipient)}".encode() + eol,
            include_body=True,
        )


def _vacations(plan: Plan, request: DeliveryRequest, spool: Spool, opts: DeliveryOptions, who: str):
    for vac in plan.vacations:
        if opts.vacation is None:
            continue
        to_addr = vac.recipient or request.sender
        if not to_addr:
            continue
        if not opts.vacation.check_and_record(
            request.user, vac.handle, to_addr, max(int(vac.days_s), 0)
        ):
            log.debug("{who}: vacation: {to} answered recently", who=who, to=to_addr)
            continue
        data = build_vacation_reply(
            from_addr=vac.from_addr or request.recipient,
            to_addr=to_addr,
            subject=vac.subject,
            body=vac.body,
            mime=vac.mime,
            in_reply_to=plan.message_id,
            references=plan.references,
            hostname=opts.hostname,
        )
        # RFC 3834 section 3.3 / RFC 5230 section 5.1: answers go out with a null sender.
        yield Outgoing(kind="vacation", sender="", recipients=(to_addr,), prefix=data)
