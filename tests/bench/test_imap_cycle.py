"""The IMAP cycle driver: its CPU accounting and one real, checked run against mailsuite."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

from bench import imap_cycle
from bench.seed import Profile, load_or_seed

SMALL = Profile(users=2, inbox=20, medium=0, big=0, sinks=0)


def test_cpu_seconds_counts_this_process_and_its_main_thread() -> None:
    """CPU of the process, of its main thread and of the kernel part never go backwards."""
    pid = os.getpid()
    before = (imap_cycle.cpu_seconds(pid), imap_cycle.cpu_seconds(pid, pid))
    sum(i * i for i in range(300_000))
    after = (imap_cycle.cpu_seconds(pid), imap_cycle.cpu_seconds(pid, pid))
    assert after[0] >= before[0] and after[1] >= before[1]
    assert 0 <= imap_cycle.cpu_seconds(pid, system_only=True) <= after[0]


def test_result_per_cycle_figures() -> None:
    """CPU per cycle divides by the cycles, and the summary line shows it."""
    result = imap_cycle.CycleResult(10, 50, 5.0, 0.5, 0.2, 0.1, {"NOOP": [0.001, 0.003]})
    assert result.rate == 10.0
    assert result.cpu_ms_per_cycle == 10.0
    first, noop = result.lines()
    assert "cycles/s=   10.0" in first and "CPU ms/cycle= 10.00" in first
    assert "reactor  4.00" in first and "kernel  2.00" in first
    assert noop.split()[0] == "NOOP" and "p50=   2.00 ms" in noop


def test_cycles_against_mailsuite(tmp_path: Path) -> None:
    """Two clients complete whole checked cycles against a real server with a pool of 2."""
    template, manifest = load_or_seed(str(tmp_path / "seed"), SMALL)
    target = imap_cycle._start("t", None, 2, template, manifest)
    try:
        config = Path(target.rundir, "mailsuite", "mailsuite.toml").read_text()
        assert "thread_pool_size = 2" in config
        port = target.server.ports["imap"]
        result = asyncio.run(imap_cycle.run_cycles(port, target.pid, manifest, 2, 1.0))
    finally:
        target.server.stop()
        shutil.rmtree(target.rundir, ignore_errors=True)
    assert result.cycles >= 2
    assert result.cpu_s > 0
    assert set(result.latencies) >= {"LOGIN", "SELECT", "APPEND", "EXPUNGE", "LOGOUT"}
