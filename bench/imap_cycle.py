"""The IMAP mixed cycle against one mailsuite process: cycles/s and server CPU per cycle.

A quick, single-server companion to the ``imap_mixed`` workload of
``bench.run``, for working on IMAP per-command cost. It starts mailsuite with
the bench config on the quick template (seeded under ``--workdir`` on first
use), runs the cycle (LOGIN, SELECT, FETCH the newest 10 (UID FLAGS
ENVELOPE), FETCH one BODY.PEEK[], STORE +FLAGS, APPEND 4 KB, NOOP, STORE
+FLAGS.SILENT \\Deleted, EXPUNGE, LOGOUT) with N clients for a number of
seconds, and prints cycles/s, the server's CPU milliseconds per cycle (user +
system of the twistd process, from ``/proc``; in brackets the reactor thread's
share and the kernel's) and p50/mean per command.

CPU per cycle is the figure to compare: cycles/s depends on whatever else
the machine runs. Run before and after a change in the same sitting::

    .venv/bin/python -m bench.imap_cycle --clients 1 --clients 10 --seconds 8 --repeat 3

``--tree DIR`` also measures the code in DIR (e.g. ``git archive`` of the last
commit), alternating run for run; ``--pool N`` (repeatable) sets ``[server]
thread_pool_size``; ``--pyspy FILE`` records a py-spy profile (GIL-held
samples per thread, raw format) of the server during the last run.
Every answer is checked (a NO or BAD aborts the run): a fast wrong server
measures nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

from bench.client.imap import ImapClient
from bench.seed import DEFAULT_WORKDIR, QUICK, Manifest, load_or_seed
from bench.servers.mailsuite_server import Mailsuite, start_from_tree
from bench.workloads.imap_mixed import appended_message

__all__ = ["CycleResult", "main", "run_cycles"]

PYSPY = "/tmp/pyspy/bin/py-spy"
WARM_S = 1.0  # one client cycles this long first: caches, indexes, imports


def cpu_seconds(pid: int, tid: int | None = None, *, system_only: bool = False) -> float:
    """User + system (or only system) CPU seconds used so far by ``pid`` (or its thread ``tid``)."""
    path = f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat"
    with open(path) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[12]) if system_only else int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


class _PoolSized(Mailsuite):
    """The bench mailsuite with ``[server] thread_pool_size`` set (0: the default)."""

    pool_size = 0

    def _config(
        self, d: str, mail_dir: str, users: str, ports: dict[str, int], extra: str = ""
    ) -> str:
        text = super()._config(d, mail_dir, users, ports, extra)
        if self.pool_size:
            text = text.replace("[server]\n", f"[server]\nthread_pool_size = {self.pool_size}\n")
        return text


@dataclass
class CycleResult:
    """One measurement: ``clients`` clients for ``seconds``."""

    clients: int
    cycles: int
    seconds: float
    cpu_s: float
    #: CPU of the main (reactor) thread alone; the rest is the thread pool's.
    reactor_cpu_s: float = 0.0
    #: CPU spent in the kernel (system time) by the whole process.
    system_cpu_s: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.cycles / self.seconds

    @property
    def cpu_ms_per_cycle(self) -> float:
        return 1000 * self.cpu_s / max(1, self.cycles)

    def lines(self) -> list[str]:
        out = [
            f"clients={self.clients:<3d} cycles/s={self.rate:7.1f}  "
            f"server CPU ms/cycle={self.cpu_ms_per_cycle:6.2f} "
            f"(reactor {1000 * self.reactor_cpu_s / max(1, self.cycles):5.2f},"
            f" kernel {1000 * self.system_cpu_s / max(1, self.cycles):5.2f})  "
            f"server CPU util={self.cpu_s / self.seconds:4.2f}"
        ]
        for name, values in self.latencies.items():
            out.append(
                f"    {name:10s} p50={1000 * statistics.median(values):7.2f} ms"
                f"  mean={1000 * statistics.mean(values):7.2f} ms"
            )
        return out


async def _cycle_worker(
    port: int, manifest: Manifest, worker: int, stop_at: float, lat: dict[str, list[float]]
) -> int:
    """Cycle as ``user<worker>`` until ``stop_at`` (monotonic); returns completed cycles."""
    user = f"user{worker % 10:02d}"
    password = manifest.passwords[user]
    cycles = 0

    async def timed(name: str, coro: object) -> object:
        t = time.perf_counter()
        result = await coro  # type: ignore[misc]
        lat.setdefault(name, []).append(time.perf_counter() - t)
        return result

    while time.monotonic() < stop_at:
        c = await ImapClient.connect(port)
        try:
            await timed("LOGIN", c.login(user, password))
            await timed("SELECT", c.select("INBOX"))
            e = c.exists
            await timed("FETCH_ENV", c.command(f"FETCH {max(1, e - 9)}:{e} (UID FLAGS ENVELOPE)"))
            await timed("FETCH_BODY", c.command(f"FETCH {e // 2} (FLAGS RFC822.SIZE BODY.PEEK[])"))
            await timed("STORE", c.command(f"STORE {e // 2} +FLAGS (\\Flagged)"))
            await timed("APPEND", c.append("INBOX", appended_message(worker, cycles + 1)))
            await timed("NOOP", c.command("NOOP"))
            await timed("STORE_DEL", c.command(f"STORE {e // 3} +FLAGS.SILENT (\\Deleted)"))
            await timed("EXPUNGE", c.command("EXPUNGE"))
            await timed("LOGOUT", c.logout())
        finally:
            await c.close()
        cycles += 1
    return cycles


async def run_cycles(
    port: int, pid: int, manifest: Manifest, clients: int, seconds: float
) -> CycleResult:
    """Run ``clients`` concurrent cycle loops for ``seconds`` against the server ``pid``."""
    lat: dict[str, list[float]] = {}
    cpu0 = cpu_seconds(pid)
    reactor0 = cpu_seconds(pid, pid)  # the main thread's id is the process id
    system0 = cpu_seconds(pid, system_only=True)
    t0 = time.monotonic()
    counts = await asyncio.gather(
        *(_cycle_worker(port, manifest, w, t0 + seconds, lat) for w in range(clients))
    )
    elapsed = time.monotonic() - t0
    cpu = cpu_seconds(pid) - cpu0
    reactor = cpu_seconds(pid, pid) - reactor0
    system = cpu_seconds(pid, system_only=True) - system0
    return CycleResult(clients, sum(counts), elapsed, cpu, reactor, system, lat)


def _start_pyspy(pid: int, out: str, seconds: float) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            PYSPY,
            "record",
            "-p",
            str(pid),
            "--rate",
            "500",
            "--gil",
            "-f",
            "raw",
            "-o",
            out,
            "-d",
            str(int(seconds)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@dataclass
class _Target:
    """One server under measurement: its label, process and IMAP port."""

    label: str
    server: _PoolSized
    rundir: str

    @property
    def pid(self) -> int:
        assert self.server.proc is not None
        return self.server.proc.pid


def _start(label: str, tree: str | None, pool: int, template: str, manifest: Manifest) -> _Target:
    """Start one mailsuite; ``tree``: run the code found there instead of this checkout's."""
    rundir = tempfile.mkdtemp(prefix="imap-cycle-", dir="/var/tmp")
    server = _PoolSized(rundir)
    server.pool_size = pool
    server.prepare(template, manifest)
    start_from_tree(server, tree)
    return _Target(label, server, rundir)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; prints one line (or block) per measurement."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--clients", type=int, action="append", help="concurrent clients (repeatable)")
    p.add_argument("--seconds", type=float, default=8.0, help="seconds per measurement")
    p.add_argument("--repeat", type=int, default=1, help="measure each client count this often")
    p.add_argument(
        "--pool",
        type=int,
        action="append",
        help="[server] thread_pool_size (repeatable: one server each, measured in turn;\n"
        "default: the config default)",
    )
    p.add_argument(
        "--tree",
        action="append",
        default=[],
        help="also measure the mailsuite code in this directory (e.g. `git archive` of an\n"
        "older commit), alternating with this checkout's, run for run",
    )
    p.add_argument("--workdir", default=DEFAULT_WORKDIR, help="where the seeded template lives")
    p.add_argument("--pyspy", metavar="FILE", help="record a py-spy profile of the last run")
    p.add_argument("--quiet", action="store_true", help="no per-command latencies")
    args = p.parse_args(argv)
    client_counts = args.clients or [1, 10]

    template, manifest = load_or_seed(args.workdir, QUICK)
    targets: list[_Target] = []
    try:
        pools = args.pool or [0]
        for name, tree in [("this", None)] + [(t, t) for t in args.tree]:
            for pool in pools:
                label = name if len(pools) == 1 else f"{name}/pool={pool or 'default'}"
                target = _start(label, tree, pool, template, manifest)
                targets.append(target)
                print(f"{label}: mailsuite pid={target.pid}", flush=True)
                port = target.server.ports["imap"]
                asyncio.run(run_cycles(port, target.pid, manifest, 1, WARM_S))
        runs = [(n, t) for _ in range(args.repeat) for n in client_counts for t in targets]
        totals: dict[tuple[str, int], list[CycleResult]] = {}
        for i, (n, t) in enumerate(runs):
            spy = None
            if args.pyspy and i == len(runs) - 1:
                spy = _start_pyspy(t.pid, args.pyspy, args.seconds)
            result = asyncio.run(
                run_cycles(t.server.ports["imap"], t.pid, manifest, n, args.seconds)
            )
            if spy is not None:
                spy.wait()
            totals.setdefault((t.label, n), []).append(result)
            lines = result.lines()
            lines[0] = f"{t.label:>16s} " + lines[0]
            print("\n".join(lines[:1] if args.quiet else lines), flush=True)
        if args.repeat > 1 or len(targets) > 1:
            print("medians:")
            for (label, n), results in totals.items():
                rate = statistics.median(r.rate for r in results)
                cpu = statistics.median(r.cpu_ms_per_cycle for r in results)
                react = statistics.median(
                    1000 * r.reactor_cpu_s / max(1, r.cycles) for r in results
                )
                print(
                    f"{label:>16s} clients={n:<3d} cycles/s={rate:7.1f}  "
                    f"CPU ms/cycle={cpu:6.2f} (reactor {react:5.2f})"
                )
    finally:
        for t in targets:
            t.server.stop()
            shutil.rmtree(t.rundir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
