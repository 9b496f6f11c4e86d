"""IMAP mixed: the ImapTest-style session cycle, many clients at once.

Each cycle is login, SELECT INBOX, FETCH the newest page (UID FLAGS ENVELOPE),
FETCH one whole message, STORE a flag, APPEND a 4 KB message, mark one message
\\Deleted, EXPUNGE, LOGOUT. One append and one expunge per cycle keep the
mailbox size steady. Worker ``i`` uses ``user{i}`` alone, so every answer can
be checked exactly (the expunged sequence number, the fetched literal's size).
"""

from __future__ import annotations

import random
import re
import time

from bench.client.imap import ImapClient, ImapProtocolError
from bench.seed import user_names
from bench.workloads.common import Context, Errors, Metric, WorkloadResult, percentile, run_for

__all__ = ["COMMANDS", "run"]

COMMANDS = ("LOGIN", "SELECT", "FETCH_ENV", "FETCH_BODY", "STORE", "APPEND", "EXPUNGE", "LOGOUT")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)", re.I)
_FETCH_SEQ = re.compile(rb"^\* (\d+) FETCH", re.I)


def appended_message(worker: int, n: int) -> bytes:
    """A 4 KB text message, CRLF line ends, as a client would APPEND it."""
    line = b"The quick brown fox jumps over the lazy dog, again and again and again.\r\n"
    head = (
        f"From: Bench Worker {worker} <worker{worker}@bench.test>\r\n"
        f"To: <user{worker:02d}@bench.test>\r\n"
        f"Subject: appended {worker}-{n}\r\n"
        f"Message-ID: <append.{worker}.{n}@bench.test>\r\n"
        "Date: Mon, 23 Nov 2026 12:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
    ).encode()
    return head + line * ((4096 - len(head)) // len(line))


async def run(ctx: Context) -> WorkloadResult:
    ctx.require("imap")
    users = user_names(ctx.profile)
    workers = len(users)
    errors = Errors()
    latencies: dict[str, list[float]] = {c: [] for c in COMMANDS}
    rngs = [random.Random(f"mixed:{w}") for w in range(workers)]
    counter = [0]

    async def cycle(w: int) -> None:
        user = users[w]
        rng = rngs[w]
        c = await ImapClient.connect(ctx.port("imap"))
        try:
            r = await c.login(user, ctx.manifest.passwords[user])
            latencies["LOGIN"].append(r.seconds)
            r = await c.select("INBOX")
            latencies["SELECT"].append(r.seconds)
            n = c.exists
            if n < 2:
                raise ImapProtocolError(f"{user}: INBOX has {n} messages, seeded with more")
            first = max(1, n - 9)
            r = await c.command(f"FETCH {first}:{n} (UID FLAGS ENVELOPE)")
            latencies["FETCH_ENV"].append(r.seconds)
            got = r.fetches()
            if len(got) != n - first + 1 or not all(b"ENVELOPE (" in f.line for f in got):
                errors.add(f"{user}: FETCH {first}:{n} ENVELOPE gave {len(got)} envelopes")
            k = rng.randint(1, n)
            r = await c.command(f"FETCH {k} (FLAGS RFC822.SIZE BODY.PEEK[])")
            latencies["FETCH_BODY"].append(r.seconds)
            body = [f for f in r.fetches() if f.literals]
            size = _SIZE.search(body[0].line) if body else None
            if not body or not size or int(size.group(1)) != len(body[0].literals[-1]):
                errors.add(f"{user}: FETCH {k} BODY[] length does not match RFC822.SIZE")
            # Toggle \Flagged so the STORE always changes something: a server need
            # not echo FLAGS for a no-op change.
            had = bool(body) and b"\\FLAGGED" in body[0].line.upper()
            r = await c.command(f"STORE {k} {'-' if had else '+'}FLAGS (\\Flagged)")
            latencies["STORE"].append(r.seconds)
            echoed = [f.line.upper() for f in r.fetches()]
            if len(echoed) != 1 or (b"\\FLAGGED" in echoed[0]) == had:
                errors.add(f"{user}: STORE {k} answered {echoed[:2]!r}")
            counter[0] += 1
            r = await c.append("INBOX", appended_message(w, counter[0]))
            latencies["APPEND"].append(r.seconds)
            await c.command("NOOP")  # RFC 3501 7.3.1: the new EXISTS comes by the next command
            if c.exists != n + 1:
                errors.add(f"{user}: after APPEND the server reports {c.exists}, not {n + 1}")
            j = rng.randint(1, n)
            await c.command(f"STORE {j} +FLAGS.SILENT (\\Deleted)")
            r = await c.command("EXPUNGE")
            latencies["EXPUNGE"].append(r.seconds)
            gone = [u.line for u in r.untagged if u.line.upper().endswith(b" EXPUNGE")]
            if gone != [b"* %d EXPUNGE" % j]:
                errors.add(f"{user}: EXPUNGE of {j} answered {gone[:3]!r}")
            started = time.perf_counter()
            await c.logout()
            latencies["LOGOUT"].append(time.perf_counter() - started)
        finally:
            await c.close()

    cycles, elapsed = await run_for(ctx.duration_s, workers, cycle, errors, ctx.op_timeout_s)
    commands = sum(len(v) for v in latencies.values())
    metrics = [
        Metric("commands/s", commands / elapsed, "cmd/s"),
        Metric("session cycles/s", cycles / elapsed, "cycles/s"),
    ]
    for name in COMMANDS:
        ms = [s * 1000 for s in latencies[name]]
        metrics.append(Metric(f"{name} p50", percentile(ms, 50), "ms", False))
        metrics.append(Metric(f"{name} p99", percentile(ms, 99), "ms", False))
    return WorkloadResult(metrics, errors, [f"{workers} clients, one user each, INBOX"])
