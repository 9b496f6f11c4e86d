"""``python -m bench.run [--quick]``: the whole comparison in one command.

Seeds one deterministic template, gives each server a private hard-linked
copy, measures each server's first SELECT of the big folders (index build),
then runs rounds: in each round every server in turn (A B C D, A B C D ...)
is started, warmed, put through every workload while its RSS is sampled, and
stopped. Results (median over rounds) go to ``bench/results/``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import platform
import resource
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from bench import report
from bench.client.imap import ImapClient
from bench.procs import RssSampler
from bench.report import ALL_METRICS, Record
from bench.seed import FULL, QUICK, load_or_seed, user_names
from bench.servers import ALL_SERVERS, Server, ServerStartError
from bench.workloads import WORKLOADS, Context, Skip, WorkloadResult
from bench.workloads.imap_big import cold_select

__all__ = ["main"]

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="small mailboxes, short runs (minutes)")
    p.add_argument("--rounds", type=int, help="rounds per server (default 3 quick, 5 full)")
    p.add_argument("--duration", type=float, help="seconds per throughput loop (3 quick, 15 full)")
    p.add_argument("--idle", type=int, help="IDLE connections (100 quick, 1000 full)")
    p.add_argument("--servers", default=",".join(ALL_SERVERS), help="comma list (%(default)s)")
    p.add_argument("--workloads", default=",".join(WORKLOADS), help="comma list (%(default)s)")
    p.add_argument("--workdir", default="/tmp/mailsuite-bench", help="seed cache and server dirs")
    p.add_argument("--results", default=os.path.join(HERE, "results"), help="output directory")
    p.add_argument("--seed", type=int, help="random seed of the generated mail")
    p.add_argument("--op-timeout", type=float, help="seconds before one operation is an error")
    args = p.parse_args(argv)
    args.rounds = args.rounds or (3 if args.quick else 5)
    args.duration = args.duration or (3.0 if args.quick else 15.0)
    args.idle = args.idle or (100 if args.quick else 1000)
    args.op_timeout = args.op_timeout or (120.0 if args.quick else 900.0)
    for name in args.servers.split(","):
        if name not in ALL_SERVERS:
            p.error(f"unknown server {name!r}; choose from {', '.join(ALL_SERVERS)}")
    for name in args.workloads.split(","):
        if name not in WORKLOADS:
            p.error(f"unknown workload {name!r}; choose from {', '.join(WORKLOADS)}")
    return args


def say(msg: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {msg}", flush=True)


def _records(server: str, workload: str, rnd: int, res: WorkloadResult) -> list[Record]:
    """One record per metric; a run's errors mark every one of its metrics."""
    base = dict(server=server, workload=workload, round=rnd, errors=res.errors.count,
                notes=res.notes, error_samples=res.errors.samples)
    if not res.metrics:
        return [Record(metric=ALL_METRICS, **base)]  # type: ignore[arg-type]
    return [
        Record(metric=m.name, unit=m.unit, higher_is_better=m.higher_is_better, value=m.value,
               **base)  # type: ignore[arg-type]
        for m in res.metrics
    ]


def run_workload(
    fn: Callable[[Context], Awaitable[WorkloadResult]], ctx: Context, name: str, rnd: int
) -> list[Record]:
    server = ctx.server.name
    try:
        res = asyncio.run(fn(ctx))
    except Skip as s:
        return [Record(server, name, ALL_METRICS, round=rnd, skip=str(s))]
    except Exception as e:  # noqa: BLE001 - a broken run is reported, the others go on
        return [Record(server, name, ALL_METRICS, round=rnd, errors=1,
                       error_samples=[f"{type(e).__name__}: {e}"])]
    recs = _records(server, name, rnd, res)
    shown = ", ".join(f"{m.name}={m.value:.3g}{m.unit}" for m in res.metrics[:3])
    say(f"  {server} {name}: {shown}" + (f"  ERRORS={res.errors.count}" if res.errors.count else ""))
    return recs


async def _warm(ctx: Context) -> None:
    """Log every user in and open their folders, so round 1 does not pay for cold caches."""
    if "imap" not in ctx.server.listening:
        return
    for user, boxes in ctx.manifest.mailboxes.items():
        c = await ImapClient.connect(ctx.server.ports["imap"])
        await c.login(user, ctx.manifest.passwords[user])
        for box in boxes:
            await asyncio.wait_for(c.select(box), ctx.op_timeout_s)
        await c.logout()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # thousands of IDLE sockets
    profile = dataclasses.replace(QUICK if args.quick else FULL, **({"seed": args.seed} if args.seed else {}))
    workloads = args.workloads.split(",")
    os.makedirs(args.workdir, exist_ok=True)
    say(f"seeding {profile} in {args.workdir} (cached after the first time)")
    started = time.monotonic()
    template, manifest = load_or_seed(args.workdir, profile)
    say(f"seed ready in {time.monotonic() - started:.0f}s: {template}")

    servers: list[Server] = []
    records: list[Record] = []
    for name in args.servers.split(","):
        srv = ALL_SERVERS[name](os.path.join(args.workdir, "run"))
        reason = srv.unavailable()
        if reason:
            say(f"{name}: skipped: {reason}")
            records += [Record(name, w, ALL_METRICS, skip=reason) for w in workloads]
            continue
        say(f"{name}: preparing {srv.dir}")
        srv.prepare(template, manifest)
        servers.append(srv)

    def ctx_for(srv: Server) -> Context:
        return Context(srv, manifest, profile, args.quick, args.duration, args.idle, args.op_timeout)

    broken: set[str] = set()
    for srv in servers:
        try:
            srv.start()
        except ServerStartError as e:
            say(f"{srv.name}: could not start: {e}")
            broken.add(srv.name)
            records += [Record(srv.name, w, ALL_METRICS, errors=1, error_samples=[str(e)[:300]])
                        for w in workloads]
            continue
        say(f"{srv.name}: listening {sorted(srv.listening)}; skipped {srv.skip_reasons}")
        if "imap_big" in workloads:
            records += run_workload(cold_select, ctx_for(srv), "imap_big", 0)
        srv.stop()

    for rnd in range(1, args.rounds + 1):
        for srv in servers:
            if srv.name in broken:
                continue
            say(f"round {rnd}/{args.rounds}: {srv.name}")
            try:
                srv.start()
            except ServerStartError as e:
                records += [Record(srv.name, w, ALL_METRICS, round=rnd, errors=1,
                                   error_samples=[str(e)[:300]]) for w in workloads]
                continue
            sampler = RssSampler(srv.pid).start()
            try:
                asyncio.run(_warm(ctx_for(srv)))
                for w in workloads:
                    records += run_workload(WORKLOADS[w], ctx_for(srv), w, rnd)
            except Exception as e:  # noqa: BLE001 - e.g. the warm-up failed: the round is an error
                records.append(Record(srv.name, "warm-up", ALL_METRICS, round=rnd, errors=1,
                                      error_samples=[f"{type(e).__name__}: {e}"]))
            finally:
                peak = sampler.stop()
                srv.stop()
            records.append(Record(srv.name, "server", "peak RSS (all processes)", "MB", False,
                                  rnd, peak / 1e6))

    names = [s for s in ALL_SERVERS if s in args.servers.split(",")]
    table = report.aggregate(records)
    os.makedirs(args.results, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    base = os.path.join(args.results, f"bench-{stamp}{'-quick' if args.quick else ''}")
    header = [
        f"# mailsuite benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC{' (--quick)' if args.quick else ''}",
        "",
        f"Machine: {platform.node()}, {os.cpu_count()} CPUs, {platform.platform()}, Python {platform.python_version()}.",
        f"Mail: {len(user_names(profile))} users x INBOX {profile.inbox:,}; Medium {profile.medium:,}; "
        f"Big {profile.big:,} messages (seed {profile.seed}); {args.rounds} rounds (median), "
        f"{args.duration:.0f}s per throughput loop, {args.idle} IDLE connections.",
        "Peak RSS: the sum over the server's processes, sampled every 0.2 s; median of the rounds' peaks.",
    ]
    text = report.write_markdown(base + ".md", table, names, header)
    report.write_csv(base + ".csv", table, names)
    reference = "dovecot-tuned" if "dovecot-tuned" in names else names[0]
    chart = report.write_chart(base + ".png", table, names, reference)
    for ext in (".md", ".csv", ".png"):
        latest = os.path.join(args.results, f"latest{ext}")
        if os.path.exists(base + ext):
            if os.path.lexists(latest):
                os.remove(latest)
            os.symlink(os.path.basename(base + ext), latest)
    print(text)
    say(f"wrote {base}.md, .csv{', .png' if chart else ' (no chart: matplotlib missing or no figures)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
