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
import json
import os
import platform
import resource
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from bench import report
from bench.client.imap import ImapClient
from bench.procs import RssSampler
from bench.report import ALL_METRICS, Record
from bench.seed import DEFAULT_WORKDIR, FULL, QUICK, Profile, load_or_seed, user_names
from bench.servers import ALL_SERVERS, Server, ServerStartError
from bench.workloads import WORKLOADS, Context, Skip, WorkloadResult
from bench.workloads.imap_big import cold_select

__all__ = ["main"]

HERE = os.path.dirname(os.path.abspath(__file__))

CONFIGURATIONS = {
    "mailsuite": "- `mailsuite`: one process, `[server] workers = 1` (the default).",
    "mailsuite-2w": "- `mailsuite-2w`: `[server] workers = 2`, a master and two worker "
    "processes sharing the listeners (workers = 1 vs 2: compare with `mailsuite`).",
    "mailsuite-proxy": "- `mailsuite-proxy`: the login front end (`[proxy] enabled`) proxying "
    "every IMAP/POP3 user to a second mailsuite process (one worker each; LMTP goes to the "
    "backend directly); its latency minus `mailsuite`'s is what the front end adds per command.",
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="small mailboxes, short runs (minutes)")
    p.add_argument("--rounds", type=int, help="rounds per server (default 3 quick, 5 full)")
    p.add_argument("--duration", type=float, help="seconds per throughput loop (3 quick, 15 full)")
    p.add_argument("--idle", type=int, help="IDLE connections (100 quick, 1000 full)")
    p.add_argument("--servers", default=",".join(ALL_SERVERS), help="comma list (%(default)s)")
    p.add_argument("--workloads", default=",".join(WORKLOADS), help="comma list (%(default)s)")
    p.add_argument("--workdir", default=DEFAULT_WORKDIR, help="seed cache and server dirs")
    p.add_argument("--results", default=os.path.join(HERE, "results"), help="output directory")
    p.add_argument("--seed", type=int, help="random seed of the generated mail")
    p.add_argument("--op-timeout", type=float, help="seconds before one operation is an error")
    p.add_argument(
        "--from-records",
        metavar="JSON",
        help="only re-render the report from a run's saved *-records.json (same options)",
    )
    args = p.parse_args(argv)
    args.rounds = args.rounds or (3 if args.quick else 5)
    args.duration = args.duration or (3.0 if args.quick else 15.0)
    args.idle = args.idle or (100 if args.quick else 1000)
    args.op_timeout = args.op_timeout or (30.0 if args.quick else 600.0)
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
    if not res.metrics:
        return [
            Record(
                server,
                workload,
                ALL_METRICS,
                round=rnd,
                errors=res.errors.count,
                notes=res.notes,
                error_samples=res.errors.samples,
            )
        ]
    return [
        Record(
            server,
            workload,
            m.name,
            m.unit,
            m.higher_is_better,
            rnd,
            None if m.errors else m.value,
            errors=res.errors.count + m.errors,
            notes=res.notes,
            error_samples=res.errors.samples,
        )
        for m in res.metrics
    ]


def run_workload(
    fn: Callable[[Context], Awaitable[WorkloadResult]], ctx: Context, name: str, rnd: int
) -> list[Record]:
    server = ctx.server.name
    # A last guard: every operation has its own timeout, but a workload as a whole
    # must never hang the run.
    limit = ctx.op_timeout_s * 12 + ctx.duration_s * 4
    try:
        res = asyncio.run(asyncio.wait_for(fn(ctx), limit))
    except Skip as s:
        return [Record(server, name, ALL_METRICS, round=rnd, skip=str(s))]
    except TimeoutError:
        return [
            Record(
                server,
                name,
                ALL_METRICS,
                round=rnd,
                errors=1,
                error_samples=[f"the whole workload took over {limit:.0f}s"],
            )
        ]
    except Exception as e:  # noqa: BLE001 - a broken run is reported, the others go on
        return [
            Record(
                server,
                name,
                ALL_METRICS,
                round=rnd,
                errors=1,
                error_samples=[f"{type(e).__name__}: {e}"],
            )
        ]
    recs = _records(server, name, rnd, res)
    shown = ", ".join(f"{m.name}={m.value:.3g}{m.unit}" for m in res.metrics[:3] if not m.errors)
    n_err = res.errors.count + sum(m.errors for m in res.metrics)
    say(f"  {server} {name}: {shown}" + (f"  ERRORS={n_err}" if n_err else ""))
    return recs


async def _warm(ctx: Context) -> None:
    """Log every user in and open their folders, so round 1 does not pay for cold caches."""
    if "imap" not in ctx.server.listening:
        return

    async def warm(user: str, boxes: list[str]) -> None:
        c = await ImapClient.connect(ctx.server.ports["imap"])
        await c.login(user, ctx.manifest.passwords[user])
        for box in boxes:
            await c.select(box)
        await c.logout()

    for user, boxes in ctx.manifest.mailboxes.items():
        await asyncio.wait_for(warm(user, list(boxes)), ctx.op_timeout_s)


def _terminate(signum: int, frame: object) -> None:
    # SIGTERM unwinds like Ctrl-C, so every started server is stopped on the way out.
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # thousands of IDLE sockets
    profile = QUICK if args.quick else FULL
    if args.seed:
        profile = dataclasses.replace(profile, seed=args.seed)
    workloads = args.workloads.split(",")
    if args.from_records:
        with open(args.from_records) as f:
            _write(args, profile, [Record(**r) for r in json.load(f)])
        return 0
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
        return Context(
            srv, manifest, profile, args.quick, args.duration, args.idle, args.op_timeout
        )

    interrupted = False
    try:
        _measure(args, servers, workloads, ctx_for, records)
    except KeyboardInterrupt:
        # Ctrl-C or SIGTERM in a long full-size run: the rounds measured so far still
        # make a table (cells are medians of the rounds each has), marked as such.
        interrupted = True
        say("interrupted: writing what was measured so far")
    finally:
        for srv in servers:
            srv.stop()
    _write(args, profile, records, interrupted)
    return 130 if interrupted else 0


def _measure(
    args: argparse.Namespace,
    servers: list[Server],
    workloads: list[str],
    ctx_for: Callable[[Server], Context],
    records: list[Record],
) -> None:
    """The cold SELECTs, then every round, appending to ``records`` as they come."""
    broken: set[str] = set()
    for srv in servers:
        try:
            srv.start()
        except ServerStartError as e:
            say(f"{srv.name}: could not start: {e}")
            broken.add(srv.name)
            records += [
                Record(srv.name, w, ALL_METRICS, errors=1, error_samples=[str(e)[:300]])
                for w in workloads
            ]
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
                records += [
                    Record(
                        srv.name, w, ALL_METRICS, round=rnd, errors=1, error_samples=[str(e)[:300]]
                    )
                    for w in workloads
                ]
                continue
            samplers = [RssSampler(srv.pid).start()]
            try:
                asyncio.run(_warm(ctx_for(srv)))
                for w in workloads:
                    timeouts = len(srv.timed_out)
                    records += run_workload(WORKLOADS[w], ctx_for(srv), w, rnd)
                    if len(srv.timed_out) > timeouts:
                        # A server may still be busy with the abandoned command; restart
                        # it so the next workload measures the server, not the leftover.
                        say(f"  {srv.name}: restarting after a timed-out operation")
                        samplers[-1].stop()
                        srv.stop()
                        srv.start()
                        samplers.append(RssSampler(srv.pid).start())
                        asyncio.run(_warm(ctx_for(srv)))
            except Exception as e:  # noqa: BLE001 - e.g. the warm-up failed: the round is an error
                records.append(
                    Record(
                        srv.name,
                        "warm-up",
                        ALL_METRICS,
                        round=rnd,
                        errors=1,
                        error_samples=[f"{type(e).__name__}: {e}"],
                    )
                )
            finally:
                samplers[-1].stop()
                srv.stop()
            rss = max(s.peak_bytes for s in samplers) / 1e6
            pss = max(s.peak_pss_bytes for s in samplers) / 1e6
            records.append(Record(srv.name, "server", "peak RSS (sum)", "MB", False, rnd, rss))
            records.append(Record(srv.name, "server", "peak PSS (sum)", "MB", False, rnd, pss))


def _write(
    args: argparse.Namespace, profile: Profile, records: list[Record], interrupted: bool = False
) -> None:
    """Aggregate and write the Markdown, CSV and PNG; print the table."""
    names = [s for s in ALL_SERVERS if s in args.servers.split(",")]
    table = report.aggregate(records)
    os.makedirs(args.results, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    base = os.path.join(args.results, f"bench-{stamp}{'-quick' if args.quick else ''}")
    with open(base + "-records.json", "w") as f:
        json.dump([dataclasses.asdict(r) for r in records], f, allow_nan=True)
    quick = " (--quick)" if args.quick else ""
    header = [
        f"# mailsuite benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC{quick}",
        "",
        f"Machine: {platform.node()}, {os.cpu_count()} CPUs, {platform.platform()}, "
        f"Python {platform.python_version()}.",
        f"Mail: {len(user_names(profile))} users x INBOX {profile.inbox:,}; "
        f"Medium {profile.medium:,}; Big {profile.big:,} messages (seed {profile.seed}); "
        f"{args.rounds} rounds (median), {args.duration:.0f}s per throughput loop, "
        f"{args.idle} IDLE connections.",
        "Peak RSS/PSS: sums over the server's whole process tree, sampled every 0.25 s, "
        "median of the rounds' peaks; PSS splits shared pages between processes, RSS "
        "counts them in each (and so overstates process-per-connection Dovecot).",
    ]
    if interrupted:
        last = max((r.round for r in records), default=0)
        header += [
            "",
            f"**Interrupted** in round {last} of {args.rounds}: each cell is the median of "
            "the rounds it got; servers after the interrupt have fewer.",
        ]
    described = [CONFIGURATIONS[n] for n in names if n in CONFIGURATIONS]
    if described:
        header += ["", "mailsuite configurations (columns, not peers):", *described]
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
    png = ", .png" if chart else " (no chart: matplotlib missing or no figures)"
    say(f"wrote {base}.md, .csv{png}")


if __name__ == "__main__":
    sys.exit(main())
