"""QUOTA (RFC 9208): GETQUOTA, GETQUOTAROOT, SETQUOTA, and the quota check before COPY.

Each user has one quota root, named ``""``, holding every mailbox; its
resources are STORAGE (in units of 1024 octets, RFC 9208 5.1) and MESSAGE,
each reported only when the admin set a limit for it (``[quota]`` or the
userdb ``quota_rule``). A user without any limit has no quota root.
Limits are the admin's to set, so SETQUOTA is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from mailsuite.errors import ErrorKind, MailError
from mailsuite.store.api import MailStore, QuotaUsage

from .. import commands as c
from ..session import Outcome
from ..wire import data
from ..wire import responses as r
from ..wire.responses import NO, OK, Code

if TYPE_CHECKING:
    from ..session import ImapSession

__all__ = [
    "QUOTA_ROOT",
    "check_copy_quota",
    "do_getquota",
    "do_getquotaroot",
    "do_setquota",
    "quota_resources",
]

QUOTA_ROOT: Final = ""
OVER_QUOTA_TEXT: Final = "Quota exceeded (mailbox for user is full)"


def quota_resources(usage: QuotaUsage) -> list[tuple[str, int, int]]:
    """(resource, usage, limit) for every resource with a limit (RFC 9208 5.1)."""
    out: list[tuple[str, int, int]] = []
    if usage.storage_limit_bytes:
        # RFC 9208 5.1: STORAGE is counted in units of 1024 octets.
        out.append(("STORAGE", usage.storage_bytes // 1024, usage.storage_limit_bytes // 1024))
    if usage.message_limit:
        out.append(("MESSAGE", usage.messages, usage.message_limit))
    return out


def _quota_of(store: MailStore, mailbox: str | None) -> QuotaUsage:
    """Blocking: the quota usage; with ``mailbox``, check that it exists first."""
    if mailbox is not None:
        store.open_mailbox(mailbox, readonly=True).close()
    return store.quota()


async def do_getquotaroot(session: ImapSession, cmd: c.GetQuotaRoot) -> Outcome:
    """``* QUOTAROOT mailbox ""`` and its ``* QUOTA`` (RFC 9208 4.3)."""
    usage = await session.run(_quota_of, session.require_store(), cmd.mailbox)
    resources = quota_resources(usage)
    session.out.write(data.quotaroot(cmd.mailbox, [QUOTA_ROOT] if resources else []))
    if resources:
        session.out.write(data.quota(QUOTA_ROOT, resources))
    return Outcome(r.tagged(cmd.tag, OK, "Getquotaroot completed."))


async def do_getquota(session: ImapSession, cmd: c.GetQuota) -> Outcome:
    """``* QUOTA "" (STORAGE used limit MESSAGE used limit)`` (RFC 9208 4.2)."""
    usage = await session.run(_quota_of, session.require_store(), None)
    resources = quota_resources(usage)
    if cmd.root != QUOTA_ROOT or not resources:
        return Outcome(r.tagged(cmd.tag, NO, "Quota root does not exist.", Code.NONEXISTENT))
    session.out.write(data.quota(QUOTA_ROOT, resources))
    return Outcome(r.tagged(cmd.tag, OK, "Getquota completed."))


async def do_setquota(session: ImapSession, cmd: c.SetQuota) -> Outcome:
    """RFC 9208 4.1: the admin sets limits (``[quota]``, userdb); clients may not."""
    return Outcome(r.tagged(cmd.tag, NO, "Quota limits are set by the administrator.", Code.NOPERM))


def check_copy_quota(store: MailStore, sizes: Sequence[int]) -> None:
    """Blocking: refuse a COPY whose messages would not fit (RFC 9208 4.4).

    The sizes are the messages' RFC822.SIZE (CRLF form), never below what
    their files take, so the check errs on the side of refusing.

    Raises:
        MailError: NO_QUOTA when the copies would exceed a limit.
    """
    usage = store.quota()
    if not (usage.storage_limit_bytes or usage.message_limit) or not sizes:
        return
    size = sum(sizes)
    if (usage.storage_limit_bytes and usage.storage_bytes + size > usage.storage_limit_bytes) or (
        usage.message_limit and usage.messages + len(sizes) > usage.message_limit
    ):
        raise MailError(
            ErrorKind.NO_QUOTA,
            OVER_QUOTA_TEXT,
            f"quota exceeded by COPY of {len(sizes)} messages ({size} bytes) for {store.user}:"
            f" {usage.storage_bytes} of {usage.storage_limit_bytes} bytes,"
            f" {usage.messages} of {usage.message_limit} messages used",
        )
