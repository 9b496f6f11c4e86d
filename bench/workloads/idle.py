"""IDLE: many idle connections, one delivery, time until every one saw EXISTS.

Connections are spread over the sink users' INBOXes. Memory per idle
connection is the server's RSS (whole process tree) with all connections
idling minus before any was opened, divided by their number. The delivery is
one LMTP transaction to every sink user; a server without LMTP (pymap) gets
the message by IMAP APPEND from one more connection per user instead.
"""

from __future__ import annotations

import asyncio
import time

from bench.client.imap import ImapClient
from bench.client.lmtp import LmtpClient
from bench.seed import sink_users
from bench.workloads.common import Context, Errors, Metric, WorkloadResult
from bench.workloads.lmtp import delivery_message

__all__ = ["run"]

CONNECT_CONCURRENCY = 50  # connections being set up at once
NOTIFY_TIMEOUT_S = 120.0
SETUP_TIMEOUT_S = 60.0  # log in, select and start IDLE: one connection, not a bulk operation
# A server that has stopped taking connections would otherwise cost every remaining
# connection its own timeout (1,000 x 60 s / 50 at a time): give up after this many.
GIVE_UP_AFTER_FAILURES = 20


async def _idle_session(ctx: Context, user: str) -> tuple[ImapClient, bytes, int]:
    """Log in, select INBOX and start idling; returns (client, IDLE tag, EXISTS before)."""
    c = await ImapClient.connect(ctx.port("imap"))
    await c.login(user, ctx.manifest.passwords[user])
    await c.select("INBOX")
    before = c.exists
    return c, await c.idle_start(), before


async def _deliver(ctx: Context, sinks: list[str], notes: list[str], errors: Errors) -> None:
    """One message to every sink user: LMTP when the server has it, else IMAP APPEND."""
    if "lmtp" in ctx.server.listening:
        lmtp = await LmtpClient.connect(ctx.port("lmtp"))
        codes = await lmtp.deliver(
            "sender@bench.test", [f"{u}@localhost" for u in sinks], delivery_message(0)
        )
        await lmtp.quit()
        if any(code // 100 != 2 for code in codes):
            errors.add(f"LMTP delivery to the idle users answered {codes}")
        return
    notes.append("delivered by IMAP APPEND, one connection per user at once (no LMTP)")

    async def append(user: str) -> None:
        c = await ImapClient.connect(ctx.port("imap"))
        await c.login(user, ctx.manifest.passwords[user])
        await c.append("INBOX", delivery_message(0))
        await c.logout()

    await asyncio.gather(*(append(u) for u in sinks))


def _inotify_instances() -> int | None:
    """The per-user inotify instance limit (Linux), or None when unknown."""
    try:
        with open("/proc/sys/fs/inotify/max_user_instances") as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


async def run(ctx: Context) -> WorkloadResult:
    ctx.require("imap")
    sinks = sink_users(ctx.profile)
    errors = Errors()
    notes: list[str] = []
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    failures = [0]
    setup_timeout = min(ctx.op_timeout_s, SETUP_TIMEOUT_S)
    await asyncio.sleep(0.5)
    rss_before, pss_before = ctx.server.rss_bytes(), ctx.server.pss_bytes()

    async def open_idle(i: int) -> tuple[ImapClient, bytes, int] | None:
        user = sinks[i % len(sinks)]
        async with gate:
            if failures[0] >= GIVE_UP_AFTER_FAILURES:
                errors.add(f"idle connection {i} ({user}): not tried, the server failed "
                           f"{failures[0]} connections already")  # fmt: skip
                return None
            try:
                return await asyncio.wait_for(_idle_session(ctx, user), setup_timeout)
            except TimeoutError:
                errors.add(f"idle connection {i} ({user}): not idling {setup_timeout:.0f}s later")
            except Exception as e:  # noqa: BLE001 - counted
                errors.add(f"idle connection {i} ({user}): {type(e).__name__}: {e}")
            failures[0] += 1
        return None

    limit = _inotify_instances()
    if limit is not None and limit < ctx.idle_connections:
        notes.append(
            f"fs.inotify.max_user_instances = {limit} < {ctx.idle_connections} connections: "
            "a server with one process per connection (Dovecot) polls instead of inotify "
            "beyond that (mailbox_idle_check_interval, 30 s); raise the sysctl to compare "
            "as production sites run"
        )
    opened = await asyncio.gather(*(open_idle(i) for i in range(ctx.idle_connections)))
    idling = [o for o in opened if o is not None]
    metrics: list[Metric] = []
    if not idling:
        return WorkloadResult(metrics, errors, notes)
    try:
        await asyncio.sleep(1.0)
        rss_after, pss_after = ctx.server.rss_bytes(), ctx.server.pss_bytes()
        n, asked = len(idling), ctx.idle_connections
        # PSS is the fair figure for a process-per-connection server (shared pages
        # are split, not counted per process); RSS is given too.
        pss = (pss_after - pss_before) / n / 1024
        rss = (rss_after - rss_before) / n / 1024
        metrics.append(Metric(f"PSS per idle connection ({asked})", pss, "KiB", False))
        metrics.append(Metric(f"RSS per idle connection ({asked})", rss, "KiB", False))
        seen_at: list[float] = []

        async def wait(c: ImapClient, before: int) -> None:
            await c.idle_wait_exists(before)
            seen_at.append(time.perf_counter())

        waits = [asyncio.ensure_future(wait(c, before)) for c, _tag, before in idling]
        started = time.perf_counter()
        try:
            await asyncio.wait_for(_deliver(ctx, sinks, notes, errors), ctx.op_timeout_s)
        except Exception as e:  # noqa: BLE001 - counted; the waits below then time out
            errors.add(f"delivery to the idle users failed: {type(e).__name__}: {e}")
        done, pending = await asyncio.wait(waits, timeout=NOTIFY_TIMEOUT_S)
        for task in pending:
            task.cancel()
        for task in done:
            if task.exception() is not None:
                errors.add(f"idle connection: {task.exception()!r}")
        if pending:
            errors.add(
                f"{len(pending)} of {len(idling)} idle connections saw no EXISTS "
                f"within {NOTIFY_TIMEOUT_S:.0f}s"
            )
        elif seen_at:
            metrics.append(Metric("time until all saw EXISTS", max(seen_at) - started, "s", False))
    finally:

        async def finish(c: ImapClient, tag: bytes) -> None:
            async with gate:
                try:
                    await asyncio.wait_for(c.idle_done(tag), 30)
                    await asyncio.wait_for(c.logout(), 30)
                except Exception:  # noqa: BLE001 - teardown; the measurement is done
                    await c.close()

        await asyncio.gather(*(finish(c, tag) for c, tag, _ in idling))
    return WorkloadResult(metrics, errors, notes)
