"""LMTP with a Sieve script: the ``lmtp`` loops with every recipient filtering.

Every sink user gets the same script (``bench/sieve.py``) for the length of
this workload: odd-numbered messages carry the list's ``List-Id`` and are
filed into ``Lists``, the others pass the header tests, get ``\\Flagged`` and
are kept. Besides every recipient's own 2xx (RFC 2033 4.2), the workload
counts the files in each user's ``Lists`` folder afterwards: it must have
grown by exactly the list messages accepted for that user, so a server that
ignored the script (or filed wrongly) reports errors, not a figure.
"""

from __future__ import annotations

from collections import Counter

from bench.seed import sink_users
from bench.sieve import LIST_FOLDER, LIST_ID, folder_count, install_scripts, remove_scripts
from bench.workloads.common import Context, Errors, Skip, WorkloadResult
from bench.workloads.lmtp import CONNECTIONS, MESSAGE_BYTES, deliveries, delivery_message

__all__ = ["run", "sieve_message"]


def sieve_message(n: int) -> bytes:
    """The n-th message: a mailing-list post when n is odd, a direct mail otherwise."""
    if n % 2:
        return delivery_message(n, f"List-Id: Announcements <{LIST_ID}>\r\n")
    return delivery_message(n)


async def run(ctx: Context) -> WorkloadResult:
    ctx.require("lmtp")
    sieve_dir = ctx.server.sieve_dir
    if not sieve_dir:
        raise Skip("no Sieve support configured for this server")
    users = sink_users(ctx.profile)
    mail = ctx.server.mail_dir
    before = {u: folder_count(mail, u, LIST_FOLDER) for u in users}
    filed: Counter[str] = Counter()

    def delivered(n: int, rcpts: list[str]) -> None:
        if n % 2:
            filed.update(r.split("@")[0] for r in rcpts)

    errors = Errors()
    install_scripts(sieve_dir, users)
    try:
        metrics = await deliveries(ctx, errors, sieve_message, delivered)
    finally:
        remove_scripts(sieve_dir)
    for u in users:
        got = folder_count(mail, u, LIST_FOLDER) - before[u]
        # A failed transaction's recipients are not counted, but the server may
        # still have filed their copy before the failure: allow surplus then.
        if got < filed[u] or (got > filed[u] and not errors.count):
            errors.add(f"{u}: {LIST_FOLDER} grew by {got}, Sieve should have filed {filed[u]}")
    notes = [
        f"{CONNECTIONS} connections, {MESSAGE_BYTES} B messages, per-user Sieve script "
        f"(bench/sieve.py): half fileinto {LIST_FOLDER}, half addflag + keep"
    ]
    return WorkloadResult(metrics, errors, notes)
