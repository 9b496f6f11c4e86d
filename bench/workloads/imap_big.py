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

from bench.client.imap import ImapClient, quote
from bench.seed import BODY_TOKEN, SUBJECT_TOKEN
from bench.workloads.common import Context, Errors, Metric, WorkloadResult

__all__ = ["cold_select", "run", "targets"]


def targets(ctx: Context) -> list[tuple[str, str]]:
    """(user, mailbox) pairs to measure, largest first."""
    out = []
    for user, boxes in ctx.manifest.mailboxes.items():
        for box in ("Big", "Medium"):
            if box in boxes:
                out.append((user, box))
    return sorted(out, key=lambda t: -ctx.manifest.facts(*t).count)


def _label(ctx: Context, user: str, box: str) -> str:
    return f"{ctx.manifest.facts(user, box).count:,} msgs"


async def _timed(ctx: Context, coro, what: str, errors: Errors):  # type: ignore[no-untyped-def]
    try:
        return await asyncio.wait_for(coro, ctx.op_timeout_s)
    except TimeoutError:
        errors.add(f"{what}: no answer within {ctx.op_timeout_s:.0f}s")
    except Exception as e:  # noqa: BLE001 - counted, the next operation still runs
        errors.add(f"{what}: {type(e).__name__}: {e}")
    return None


async def cold_select(ctx: Context) -> WorkloadResult:
    """Time the first SELECT of each big folder (index build from bare Maildir files)."""
    ctx.require("imap")
    errors = Errors()
    metrics = []
    for user, box in targets(ctx):
        c = await ImapClient.connect(ctx.port("imap"))
        try:
            await c.login(user, ctx.manifest.passwords[user])
            r = await _timed(ctx, c.select(box), f"cold SELECT {box}", errors)
            if r is not None:
                metrics.append(Metric(f"cold SELECT ({_label(ctx, user, box)})", r.seconds, "s", False))
            await c.logout()
        finally:
            await c.close()
    return WorkloadResult(metrics, errors, ["first SELECT after seeding: the index is built"])


async def run(ctx: Context) -> WorkloadResult:
    ctx.require("imap")
    errors = Errors()
    metrics: list[Metric] = []
    for user, box in targets(ctx):
        facts = ctx.manifest.facts(user, box)
        label = _label(ctx, user, box)
        c = await ImapClient.connect(ctx.port("imap"))
        try:
            await c.login(user, ctx.manifest.passwords[user])
            steps = [
                ("SELECT", lambda b=box: c.select(b), None),
                ("FETCH 1:* (UID FLAGS)", lambda: c.command("FETCH 1:* (UID FLAGS)"), b"FLAGS ("),
                (
                    "FETCH 1:* (ENVELOPE BODYSTRUCTURE)",
                    lambda: c.command("FETCH 1:* (ENVELOPE BODYSTRUCTURE)"),
                    b"BODYSTRUCTURE (",
                ),
                (
                    "SEARCH HEADER Subject",
                    lambda: c.command(f"SEARCH HEADER Subject {quote(SUBJECT_TOKEN)}"),
                    facts.subject_hits,
                ),
                ("SEARCH BODY", lambda: c.command(f"SEARCH BODY {quote(BODY_TOKEN)}"), facts.body_hits),
            ]
            for name, op, expect in steps:
                started = time.perf_counter()
                r = await _timed(ctx, op(), f"{name} on {box}", errors)
                if r is None:
                    continue
                seconds = time.perf_counter() - started
                ok = True
                if name == "SELECT":
                    ok = c.exists == facts.count
                elif isinstance(expect, bytes):
                    fetches = r.fetches()
                    ok = len(fetches) == facts.count and all(expect in f.line for f in fetches)
                elif isinstance(expect, int):
                    ok = len(r.search_hits()) == expect
                if not ok:
                    errors.add(f"{name} on {user}/{box} ({facts.count} msgs): wrong answer")
                    continue
                metrics.append(Metric(f"{name} ({label})", seconds, "s", False))
            await c.logout()
        finally:
            await c.close()
    return WorkloadResult(metrics, errors)
