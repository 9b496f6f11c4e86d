"""IMAP big mailbox: whole-mailbox commands on the largest seeded folders.

SELECT, FETCH 1:* (UID FLAGS), FETCH 1:* (ENVELOPE BODYSTRUCTURE), SEARCH on a
header and on body text, on ``user00``'s ``Big`` and ``user01``'s ``Medium``.
Every answer is checked against the seed's manifest: the message count, one
FETCH per message, and the exact number of SEARCH hits for planted tokens.
The first SELECT after seeding (the server builds its index) is measured once,
separately, by ``cold_select``.
"""

from __future__ import annotations

import asyncio
import time

from bench.client.imap import ImapClient, Response, quote
from bench.seed import BODY_TOKEN, SUBJECT_TOKEN
from bench.workloads.common import Context, Errors, Metric, WorkloadResult

__all__ = ["cold_select", "run", "targets"]


def targets(ctx: Context) -> list[tuple[str, str]]:
    """(user, mailbox) pairs to measure, smallest first (a slow server still gives figures)."""
    out = []
    for user, boxes in ctx.manifest.mailboxes.items():
        for box in ("Big", "Medium"):
            if box in boxes:
                out.append((user, box))
    return sorted(out, key=lambda t: ctx.manifest.facts(*t).count)


def _label(ctx: Context, user: str, box: str) -> str:
    return f"{ctx.manifest.facts(user, box).count:,} msgs"


async def cold_select(ctx: Context) -> WorkloadResult:
    """Time the first SELECT of each big folder (index build from bare Maildir files)."""
    ctx.require("imap")
    errors = Errors()
    metrics = []
    for user, box in targets(ctx):
        c = await ImapClient.connect(ctx.port("imap"))
        try:
            await c.login(user, ctx.manifest.passwords[user])
            name = f"cold SELECT ({_label(ctx, user, box)})"
            try:
                r = await asyncio.wait_for(c.select(box), ctx.op_timeout_s)
                metrics.append(Metric(name, r.seconds, "s", False))
                await c.logout()
            except Exception as e:  # noqa: BLE001 - this figure is an error
                errors.add(f"{name} on {user}/{box}: {type(e).__name__}: {e}", count=False)
                metrics.append(Metric(name, float("nan"), "s", False, errors=1))
        finally:
            await c.close()
    return WorkloadResult(metrics, errors, ["first SELECT after seeding: the index is built"])


async def _session(ctx: Context, user: str, box: str | None) -> ImapClient:
    c = await ImapClient.connect(ctx.port("imap"))
    await c.login(user, ctx.manifest.passwords[user])
    if box is not None:
        await asyncio.wait_for(c.select(box), ctx.op_timeout_s)
    return c


async def _step(
    ctx: Context, c: ImapClient | None, user: str, box: str, name: str, line: str
) -> tuple[ImapClient, Response, float]:
    if c is None:  # a fresh session after a timeout: the old one's answer may still come
        c = await _session(ctx, user, None if name == "SELECT" else box)
    if name == "SELECT":
        c.exists = -1
    started = time.perf_counter()
    r = await c.command(line)
    return c, r, time.perf_counter() - started


async def run(ctx: Context) -> WorkloadResult:
    ctx.require("imap")
    errors = Errors()
    metrics: list[Metric] = []
    busy = ""  # set after a timeout: the server may still be working on it
    for user, box in targets(ctx):
        facts = ctx.manifest.facts(user, box)
        label = _label(ctx, user, box)
        steps: list[tuple[str, str, bytes | int | None]] = [
            ("SELECT", f"SELECT {quote(box)}", None),
            ("FETCH 1:* (UID FLAGS)", "FETCH 1:* (UID FLAGS)", b"FLAGS ("),
            (
                "FETCH 1:* (ENVELOPE BODYSTRUCTURE)",
                "FETCH 1:* (ENVELOPE BODYSTRUCTURE)",
                b"BODYSTRUCTURE (",
            ),
            (
                "SEARCH HEADER Subject",
                f"SEARCH HEADER Subject {quote(SUBJECT_TOKEN)}",
                facts.subject_hits,
            ),
            ("SEARCH BODY", f"SEARCH BODY {quote(BODY_TOKEN)}", facts.body_hits),
        ]
        c: ImapClient | None = None
        try:
            for name, line, expect in steps:
                what = f"{name} on {user}/{box} ({facts.count} msgs)"
                if what in ctx.server.timed_out or busy:
                    # Retrying costs a whole timeout again, and right after a timeout the
                    # server may still be busy with it: report instead of measuring.
                    why = (
                        f"{ctx.server.timed_out[what]} in an earlier round; not retried"
                        if what in ctx.server.timed_out
                        else f"not run: {busy} timed out just before"
                    )
                    errors.add(f"{what}: {why}", count=False)
                    metrics.append(Metric(f"{name} ({label})", float("nan"), "s", False, errors=1))
                    continue
                try:
                    # The timeout covers a fresh session too: a server still busy with
                    # an abandoned command may not even answer LOGIN (pymap does this).
                    client, r, seconds = await asyncio.wait_for(
                        _step(ctx, c, user, box, name, line), ctx.op_timeout_s
                    )
                    c = client
                    if name == "SELECT":
                        ok = client.exists == facts.count
                    elif isinstance(expect, bytes):
                        fetches = r.fetches()
                        ok = len(fetches) == facts.count and all(expect in f.line for f in fetches)
                    else:
                        ok = len(r.search_hits()) == expect
                    if not ok:
                        raise ValueError("wrong answer (count or content differs from the seed)")
                    metrics.append(Metric(f"{name} ({label})", seconds, "s", False))
                except Exception as e:  # noqa: BLE001 - this figure is an error, the next one runs
                    text = (
                        f"no answer within {ctx.op_timeout_s:.0f}s"
                        if isinstance(e, TimeoutError)
                        else f"{type(e).__name__}: {e}"
                    )
                    errors.add(f"{what}: {text}", count=False)
                    if isinstance(e, TimeoutError):
                        ctx.server.timed_out[what] = text
                        busy = what
                    metrics.append(Metric(f"{name} ({label})", float("nan"), "s", False, errors=1))
                    if c is not None:
                        await c.close()
                    c = None
            if c is not None:
                await asyncio.wait_for(c.logout(), ctx.op_timeout_s)
        finally:
            if c is not None:
                await c.close()
    return WorkloadResult(metrics, errors)
