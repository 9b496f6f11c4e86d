"""Auth: logins per second (connect, log in, log out) over IMAP and over POP3.

Dovecot's defaults run without an auth cache and the tuned config with one;
mailsuite runs with its configured cache. All servers use the same cleartext
passwords, so the figure is the login path itself, not a password hash.
"""

from __future__ import annotations

from bench.client.imap import ImapClient
from bench.client.pop3 import Pop3Client
from bench.seed import user_names
from bench.workloads.common import Context, Errors, Metric, WorkloadResult, run_for

__all__ = ["WORKERS", "run_imap", "run_pop3"]

WORKERS = 10


async def run_imap(ctx: Context) -> WorkloadResult:
    ctx.require("imap")
    users = user_names(ctx.profile)
    errors = Errors()

    async def cycle(w: int) -> None:
        user = users[w % len(users)]
        c = await ImapClient.connect(ctx.port("imap"))
        try:
            await c.login(user, ctx.manifest.passwords[user])
            await c.logout()
        finally:
            await c.close()

    n, elapsed = await run_for(ctx.duration_s, WORKERS, cycle, errors, ctx.op_timeout_s)
    return WorkloadResult([Metric("logins/s", n / elapsed, "logins/s")], errors)


async def run_pop3(ctx: Context) -> WorkloadResult:
    ctx.require("pop3")
    # POP3 may lock a mailbox per session (RFC 1939 8): one worker per user.
    users = user_names(ctx.profile)
    errors = Errors()

    async def cycle(w: int) -> None:
        user = users[w % len(users)]
        c = await Pop3Client.connect(ctx.port("pop3"))
        try:
            await c.login(user, ctx.manifest.passwords[user])
            await c.quit()
        finally:
            await c.close()

    workers = min(WORKERS, len(users))
    n, elapsed = await run_for(ctx.duration_s, workers, cycle, errors, ctx.op_timeout_s)
    return WorkloadResult([Metric("logins/s", n / elapsed, "logins/s")], errors)
