"""The real LMTP backend: userdb lookup at RCPT, delivery per recipient, relay sending.

RCPT asks the userdb through :class:`AuthService.lookup` (RFC 2033 section 4.2
lets us refuse unknown users and full mailboxes at RCPT time, where the MTA
can still tell them apart); after the body, each recipient's copy is stored
by :func:`mailsuite.delivery.deliver` in the thread pool, and its reply comes
only once that copy is durable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure

from mailsuite.auth.interfaces import AuthService, LoginContext, UserRecord
from mailsuite.delivery.deliver import DeliveryOptions, deliver
from mailsuite.delivery.result import DeliveryRequest, DeliveryResult, Outgoing, Status
from mailsuite.delivery.sieverun import strip_detail
from mailsuite.delivery.spool import Spool
from mailsuite.errors import MailError
from mailsuite.protocols.lmtp.commands import Path
from mailsuite.protocols.lmtp.session import Transaction
from mailsuite.protocols.lmtp.wire import Reply
from mailsuite.store.api import MailStore

__all__ = ["DeliveryBackend", "Recipient", "SendMail"]

log = Logger()

# Sends one Outgoing (with the spooled body when it asks for it) through the relay.
SendMail = Callable[[Outgoing, Spool], "Deferred[None]"]
# Returns the (path, compiled script) pairs to run for a user (blocking: file reads).
ScriptLoader = Callable[[UserRecord], "list[tuple[str, Any]]"]


@dataclass
class Recipient:
    """An accepted RCPT: who it is and the store opened for the quota check."""

    address: str
    detail: str
    record: UserRecord
    store: MailStore | None  # opened at RCPT for the quota check, else at delivery


class DeliveryBackend:
    """Implements :class:`mailsuite.protocols.lmtp.session.LmtpBackend`.

    Args:
        auth: the userdb lookups and store factory.
        run_blocking: runs a blocking callable in the thread pool -> Deferred.
        options: delivery policy.
        domain_fallback: when ``user@domain`` is unknown, look up ``user`` (sites
            whose userdb holds bare names).
        scripts: Sieve scripts per user; None: no filtering.
        send: relay sender for redirect and vacation; None: such mail is dropped
            with a log line (and a redirect-only message is kept instead).
        spool_dir: where large bodies are spooled.
    """

    def __init__(
        self,
        *,
        auth: AuthService,
        run_blocking: Callable[..., Deferred[Any]],
        options: DeliveryOptions,
        domain_fallback: bool = True,
        scripts: ScriptLoader | None = None,
        send: SendMail | None = None,
        spool_dir: str | None = None,
    ) -> None:
        self._auth = auth
        self._run = run_blocking
        self._opts = options
        self._fallback = domain_fallback
        self._scripts = scripts
        self._send = send
        self._spool_dir = spool_dir

    def new_spool(self) -> Spool:
        return Spool(self._spool_dir)

    def check_recipient(self, path: Path, txn: Transaction) -> Deferred[tuple[Reply, Any]]:
        return Deferred.fromCoroutine(self._check(path, txn))

    async def _check(self, path: Path, txn: Transaction) -> tuple[Reply, Any]:
        address = path.address
        base, detail = strip_detail(address, self._opts.recipient_delimiter)
        names = [base]
        local, at, _ = base.rpartition("@")
        if at and self._fallback:
            names.append(local)
        context = LoginContext(service="lmtp", remote_ip=txn.remote_ip, session_id=txn.session_id)
        record: UserRecord | None = None
        for name in names:
            try:
                record = await self._auth.lookup(name, context)
            except Exception as e:
                log.error(
                    "lmtp<{sid}>: userdb lookup of {name} failed: {err}",
                    sid=txn.session_id,
                    name=name,
                    err=e,
                )
                return Reply.of(451, "4.3.0", f"<{address}> Temporary user lookup failure"), None
            if record is not None:
                break
        if record is None:
            log.info("lmtp<{sid}>: rcpt <{addr}>: user unknown", sid=txn.session_id, addr=address)
            return Reply.of(550, "5.1.1", f"<{address}> User doesn't exist"), None
        store: MailStore | None = None
        quota = None
        try:
            if record.quota_storage_bytes or record.quota_messages:
                # Only a quota needs the store now; otherwise it is opened in the same
                # thread-pool trip as the delivery (one hop less per recipient).
                store, quota = await self._run(self._open_store, record)
        except MailError as e:
            log.error(
                "lmtp({user})<{sid}>: cannot open mail store: {detail}",
                user=record.username,
                sid=txn.session_id,
                detail=e.detail,
            )
            return Reply.of(451, "4.3.0", f"<{address}> Temporary failure opening mailbox"), None
        if _over_quota(quota, txn.declared_size or 0):
            log.info(
                "lmtp({user})<{sid}>: rcpt <{addr}>: over quota",
                user=record.username,
                sid=txn.session_id,
                addr=address,
            )
            if self._opts.quota_full_tempfail:
                return Reply.of(452, "4.2.2", f"<{address}> Mailbox is full"), None
            return Reply.of(552, "5.2.2", f"<{address}> Mailbox is full"), None
        return Reply.of(250, "2.1.5", f"<{address}> OK"), Recipient(address, detail, record, store)

    def _open_store(self, record: UserRecord) -> tuple[MailStore, Any]:
        """Open the store and read its quota in one trip to the thread pool."""
        store = self._auth.open_store(record)
        return store, store.quota()

    def deliver(self, handle: Any, txn: Transaction, spool: Spool) -> Deferred[Reply]:
        return Deferred.fromCoroutine(self._deliver(handle, txn, spool))

    def _deliver_blocking(self, rcpt: Recipient, txn: Transaction, spool: Spool) -> DeliveryResult:
        scripts: list[tuple[str, Any]] = []
        if self._scripts is not None:
            try:
                scripts = self._scripts(rcpt.record)
            except Exception as e:  # a broken script setup must not lose mail
                log.error(
                    "lmtp({user})<{sid}>: loading Sieve scripts failed, keeping: {err}",
                    user=rcpt.record.username,
                    sid=txn.session_id,
                    err=e,
                )
        request = DeliveryRequest(
            user=rcpt.record.username,
            recipient=rcpt.address,
            sender=txn.sender.address,
            detail=rcpt.detail,
            session_id=txn.session_id,
        )
        if rcpt.store is None:
            try:
                rcpt.store = self._auth.open_store(rcpt.record)
            except MailError as e:
                log.error(
                    "lmtp({user})<{sid}>: cannot open mail store: {detail}",
                    user=rcpt.record.username,
                    sid=txn.session_id,
                    detail=e.detail,
                )
                return DeliveryResult.tempfail(451, "4.3.0", "Temporary failure opening mailbox")
        return deliver(rcpt.store, spool, request, scripts=scripts, options=self._opts)

    async def _deliver(self, rcpt: Recipient, txn: Transaction, spool: Spool) -> Reply:
        result: DeliveryResult = await self._run(self._deliver_blocking, rcpt, txn, spool)
        if result.status is not Status.OK:
            return Reply.of(result.code, result.enhanced, result.text)
        for out in result.outgoing:
            failed = self._log_send_failure(rcpt, txn, out)
            if self._send is None:
                failed(RuntimeError("no SMTP relay configured"))
                if out.kind == "redirect" and not result.stored:
                    return Reply.of(451, "4.4.1", f"<{rcpt.address}> Forwarding failed")
                continue
            if out.kind != "redirect":
                # A vacation answer is complete in itself (it does not read the spool),
                # so it is not worth holding this recipient's reply for.
                try:
                    self._send(out, spool).addErrback(_report, failed)
                except Exception as e:
                    failed(e)
                continue
            try:
                await self._send(out, spool)
            except Exception as e:
                failed(e)
                if not result.stored:
                    # Nothing stored and the forward failed: the MTA must retry.
                    return Reply.of(451, "4.4.1", f"<{rcpt.address}> Forwarding failed")
        return Reply.of(result.code, result.enhanced, result.text)

    @staticmethod
    def _log_send_failure(
        rcpt: Recipient, txn: Transaction, out: Outgoing
    ) -> Callable[[BaseException], None]:
        def failed(err: BaseException) -> None:
            log.error(
                "lmtp({user})<{sid}>: sending {kind} to {to} via relay failed: {err}",
                user=rcpt.record.username,
                sid=txn.session_id,
                kind=out.kind,
                to=",".join(out.recipients),
                err=err,
            )

        return failed


def _report(failure: Failure, failed: Callable[[BaseException], None]) -> None:
    failed(failure.value)


def _over_quota(quota: Any, incoming: int) -> bool:
    if quota is None:
        return False
    if quota.storage_limit_bytes and quota.storage_bytes + incoming > quota.storage_limit_bytes:
        return True
    if quota.message_limit and quota.messages + 1 > quota.message_limit:
        return True
    return False
