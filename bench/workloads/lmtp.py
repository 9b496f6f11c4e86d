"""LMTP: deliveries per second of 4 KB messages over 4 connections.

Measured with 1 recipient and with 10 recipients per message (the sink
users). A delivery counts only when its recipient's own reply after the data
is 2xx (RFC 2033 4.2); anything else is an error.
"""

from __future__ import annotations

from collections.abc import Callable

from bench.client.lmtp import LmtpClient
from bench.seed import sink_users
from bench.workloads.common import Context, Errors, Metric, WorkloadResult, run_for

__all__ = ["CONNECTIONS", "deliveries", "delivery_message", "run"]

CONNECTIONS = 4
MESSAGE_BYTES = 4096


def delivery_message(n: int, extra_headers: str = "") -> bytes:
    """A 4 KB message as an MTA would hand it over (``extra_headers``: CRLF-ended lines)."""
    head = (
        "From: Sender <sender@bench.test>\r\nTo: <sink@bench.test>\r\n"
        f"Subject: delivery {n}\r\nMessage-ID: <lmtp.{n}@bench.test>\r\n"
        f"{extra_headers}Date: Mon, 23 Nov 2026 12:00:00 +0000\r\n\r\n"
    ).encode()
    line = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\r\n"
    return head + line * ((MESSAGE_BYTES - len(head)) // len(line))


async def _measure(
    ctx: Context,
    sinks: list[str],
    fanout: int,
    errors: Errors,
    message: Callable[[int], bytes] = delivery_message,
    delivered: Callable[[int, list[str]], None] | None = None,
) -> float:
    """Messages per second with ``fanout`` recipients each, over CONNECTIONS connections.

    ``message(n)`` makes the n-th message; ``delivered(n, recipients)`` is told
    of every message all of whose recipients answered 2xx.
    """
    clients: dict[int, LmtpClient] = {}
    sent = [0]

    async def cycle(w: int) -> None:
        if w not in clients:
            clients[w] = await LmtpClient.connect(ctx.port("lmtp"))
        sent[0] += 1
        n = sent[0]
        rcpts = [sinks[(n + i) % len(sinks)] for i in range(fanout)]
        try:
            codes = await clients[w].deliver("sender@bench.test", rcpts, message(n))
        except Exception:
            clients.pop(w, None)  # a broken connection is replaced next cycle
            raise
        if any(c // 100 != 2 for c in codes):
            raise RuntimeError(f"per-recipient replies {codes}")
        if delivered is not None:
            delivered(n, rcpts)

    done, elapsed = await run_for(ctx.duration_s, CONNECTIONS, cycle, errors, ctx.op_timeout_s)
    for c in clients.values():
        try:
            await c.quit()
        except Exception:  # noqa: BLE001 - teardown
            pass
    return done / elapsed


async def deliveries(
    ctx: Context,
    errors: Errors,
    message: Callable[[int], bytes] = delivery_message,
    delivered: Callable[[int, list[str]], None] | None = None,
) -> list[Metric]:
    """The 1-recipient and all-sinks loops: messages/s and deliveries/s of each."""
    sinks = [f"{u}@localhost" for u in sink_users(ctx.profile)]
    metrics: list[Metric] = []
    for fanout in (1, len(sinks)):
        rate = await _measure(ctx, sinks, fanout, errors, message, delivered)
        label = "1 rcpt" if fanout == 1 else f"{fanout} rcpts"
        metrics.append(Metric(f"messages/s ({label})", rate, "msg/s"))
        metrics.append(Metric(f"deliveries/s ({label})", rate * fanout, "rcpt/s"))
    return metrics


async def run(ctx: Context) -> WorkloadResult:
    ctx.require("lmtp")
    errors = Errors()
    metrics = await deliveries(ctx, errors)
    notes = [f"{CONNECTIONS} connections, {MESSAGE_BYTES} B messages, no Sieve script"]
    return WorkloadResult(metrics, errors, notes)
