"""POP3: login, UIDL, RETR every message, QUIT; MB/s and sessions/s.

Worker ``i`` downloads ``user{i}``'s INBOX (servers may allow one POP3 session
per mailbox, RFC 1939 8). Each session checks STAT against LIST and UIDL, that
UIDs are unique, and that every RETR carries exactly LIST's octet count.
"""

from __future__ import annotations

from bench.client.pop3 import Pop3Client, Pop3ProtocolError
from bench.seed import user_names
from bench.workloads.common import Context, Errors, Metric, WorkloadResult, run_for

__all__ = ["run"]


async def run(ctx: Context) -> WorkloadResult:
    ctx.require("pop3")
    users = user_names(ctx.profile)
    errors = Errors()
    octets = [0]

    async def cycle(w: int) -> None:
        user = users[w]
        c = await Pop3Client.connect(ctx.port("pop3"))
        try:
            await c.login(user, ctx.manifest.passwords[user])
            count, size = await c.stat()
            uidl = await c.listing("UIDL")
            sizes = await c.listing("LIST")
            if count < 1 or len(uidl) != count or len(sizes) != count:
                raise Pop3ProtocolError(
                    f"{user}: STAT {count}, UIDL {len(uidl)}, LIST {len(sizes)}"
                )
            if len(set(uidl.values())) != count:
                errors.add(f"{user}: UIDL values are not unique")
            if sum(int(s) for s in sizes.values()) != size:
                errors.add(f"{user}: STAT size {size} is not the sum of LIST sizes")
            for num in sorted(sizes):
                data = await c.retr(num)
                if len(data) != int(sizes[num]):
                    errors.add(f"{user}: RETR {num}: {len(data)} octets, LIST said {sizes[num]!r}")
                octets[0] += len(data)
            await c.quit()
        finally:
            await c.close()

    workers = len(users)
    sessions, elapsed = await run_for(ctx.duration_s, workers, cycle, errors, ctx.op_timeout_s)
    return WorkloadResult(
        [
            Metric("RETR MB/s", octets[0] / elapsed / 1e6, "MB/s"),
            Metric("sessions/s", sessions / elapsed, "sessions/s"),
        ],
        errors,
        [f"{workers} clients, one user each"],
    )
