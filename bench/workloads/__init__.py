"""The workloads, in the order a round runs them.

Each is ``async (Context) -> WorkloadResult`` and raises ``Skip`` when the
server does not serve the protocol it needs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bench.workloads import auth, idle, imap_big, imap_mixed, lmtp, lmtp_sieve, pop3
from bench.workloads.common import Context, Skip, WorkloadResult

__all__ = ["WORKLOADS", "Context", "Skip", "WorkloadResult"]

WORKLOADS: dict[str, Callable[[Context], Awaitable[WorkloadResult]]] = {
    "imap_big": imap_big.run,
    "pop3": pop3.run,
    "imap_mixed": imap_mixed.run,
    "auth_imap": auth.run_imap,
    "auth_pop3": auth.run_pop3,
    "idle": idle.run,
    "lmtp": lmtp.run,
    "lmtp_sieve": lmtp_sieve.run,
}
