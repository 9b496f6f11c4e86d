"""The real LMTP backend: userdb lookup at RCPT, delivery per recipient, relay sending.

RCPT asks the userdb through :class:`AuthService.lookup` (RFC 2033 section 4.2
lets us refuse unknown users and full mailboxes at RCPT time, where the MTA
can still tell them apart); after the body, each recipient's copy is stored
by :func:`mailsuite.delivery.deliver` in the thread pool, and its reply comes
only once that copy is durable.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from twisted.internet.defer import Deferred, succeed
from twisted.logger import Logger
from twisted.python.failure import Failure

from mailsuite.auth.interfaces import AuthService, LoginContext, UserRecord
from mailsuite.delivery.deliver import DeliveryOptions, deliver
from mailsuite.delivery.handles import HandleCache, UserHandles
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
        handles: keeps users' stores and mailbox handles open between
            deliveries; None: a new one over ``auth.open_store``.
        user_cache_s: how long a found user is remembered for RCPT (0: never).
            Unknown users are never remembered: a 550 is final for the MTA.
        clock: monotonic seconds (injected for tests).
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
        handles: HandleCache | None = None,
        user_cache_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._auth = auth
        self._handles = handles if handles is not None else HandleCache(auth.open_store)
        self._users = _FoundUsers(user_cache_s, clock)
        self._run = run_blocking
        self._opts = options
        self._fallback = domain_fallback
        self._scripts = scripts
        self._send = send
        self._spool_dir = spool_dir

    def new_spool(self) -> Spool:
        # Bytes beyond the memory limit are written by the session through the pool.
        return Spool(self._spool_dir, background_writes=True)

    def check_recipient(self, path: Path, txn: Transaction) -> Deferred[tuple[Reply, Any]]:
        address = path.address
        base, detail = strip_detail(address, self._opts.recipient_delimiter)
        record = self._users.get(base)
        if record is not None and not (record.quota_storage_bytes or record.quota_messages):
            # Known a moment ago and no quota to check: no userdb trip.
            reply = Reply.of(250, "2.1.5", f"<{address}> OK")
            return succeed((reply, Recipient(address, detail, record, None)))
        return Deferred.fromCoroutine(self._check(address, base, detail, record, txn))

    async def _check(
        self, address: str, base: str, detail: str, record: UserRecord | None, txn: Transaction
    ) -> tuple[Reply, Any]:
        if record is None:
            found = await self._lookup(address, base, txn)
            if isinstance(found, Reply):
                return found, None
            record = found
            self._users.put(base, record)
        return await self._check_quota(address, detail, record, txn)

    async def _lookup(self, address: str, base: str, txn: Transaction) -> UserRecord | Reply:
        """The userdb record for ``base`` (or its bare local part), or the refusal."""
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
                return Reply.of(451, "4.3.0", f"<{address}> Temporary user lookup failure")
            if record is not None:
                return record
        log.info("lmtp<{sid}>: rcpt <{addr}>: user unknown", sid=txn.session_id, addr=address)
        return Reply.of(550, "5.1.1", f"<{address}> User doesn't exist")

    async def _check_quota(
        self, address: str, detail: str, record: UserRecord, txn: Transaction
    ) -> tuple[Reply, Any]:
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

    @property
    def handles(self) -> HandleCache:
        """The stores and mailbox handles kept between deliveries (swept by the service)."""
        return self._handles

    def _open_store(self, record: UserRecord) -> tuple[MailStore, Any]:
        """Open the store and read its quota in one trip to the thread pool."""
        with self._handles.lease(record) as user:
            return user.store, user.store.quota()

    def deliver(self, handle: Any, txn: Transaction, spool: Spool) -> Deferred[Reply]:
        d: Deferred[DeliveryResult] = self._run(self._deliver_blocking, handle, txn, spool)
        return d.addCallback(self._reply_for, handle, txn, spool)

    def _reply_for(
        self, result: DeliveryResult, rcpt: Recipient, txn: Transaction, spool: Spool
    ) -> Reply | Deferred[Reply]:
        if result.status is not Status.OK or not result.outgoing:
            return Reply.of(result.code, result.enhanced, result.text)
        # Redirect or vacation: the relay is involved (and maybe the reply waits for it).
        return Deferred.fromCoroutine(self._send_outgoing(result, rcpt, txn, spool))

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
        try:
            user: UserHandles = self._handles.lease(rcpt.record)
        except MailError as e:
            log.error(
                "lmtp({user})<{sid}>: cannot open mail store: {detail}",
                user=rcpt.record.username,
                sid=txn.session_id,
                detail=e.detail,
            )
            return DeliveryResult.tempfail(451, "4.3.0", "Temporary failure opening mailbox")
        with user:
            return deliver(
                user.store, spool, request, scripts=scripts, options=self._opts, mailboxes=user
            )

    async def _send_outgoing(
        self, result: DeliveryResult, rcpt: Recipient, txn: Transaction, spool: Spool
    ) -> Reply:
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


class _FoundUsers:
    """userdb records found at RCPT, kept for a few seconds.

    An MTA hands over the same recipients again and again (a list's local
    members, a busy inbox); each saved lookup is a userdb trip less on the
    reactor. A user removed from the userdb is still accepted for at most
    ``ttl_s`` (Dovecot's auth cache makes the same trade for much longer).
    """

    MAX_ENTRIES = 4096

    def __init__(self, ttl_s: float, clock: Callable[[], float]) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._found: dict[str, tuple[UserRecord, float]] = {}

    def get(self, address: str) -> UserRecord | None:
        hit = self._found.get(address)
        if hit is None:
            return None
        if hit[1] <= self._clock():
            del self._found[address]
            return None
        return hit[0]

    def put(self, address: str, record: UserRecord) -> None:
        if self._ttl_s <= 0:
            return
        if len(self._found) >= self.MAX_ENTRIES:
            self._found.clear()  # a burst of many users: start over rather than scan
        self._found[address] = (record, self._clock() + self._ttl_s)


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
