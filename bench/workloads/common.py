"""What every workload shares: its inputs, its result, error counting, timed loops."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bench.seed import Manifest, Profile
from bench.servers.base import Server

__all__ = [
    "Context",
    "Errors",
    "Metric",
    "Skip",
    "WorkloadResult",
    "percentile",
    "run_for",
]

SAMPLE_ERRORS = 5  # error messages kept per workload run for the report


class Skip(Exception):  # noqa: N818 - it is a verdict, not an error
    """This workload cannot run on this server; the message says why."""


@dataclass(frozen=True)
class Metric:
    name: str
    value: float
    unit: str
    higher_is_better: bool = True
    errors: int = 0  # errors of this figure alone (the run's own count marks every figure)


@dataclass
class Errors:
    """Counts every wrong or missing answer; keeps a few for the report."""

    count: int = 0
    samples: list[str] = field(default_factory=list)

    def add(self, what: str, count: bool = True) -> None:
        """Record an error; ``count=False`` keeps only the sample (a Metric carries the count)."""
        self.count += count
        if len(self.samples) < SAMPLE_ERRORS:
            self.samples.append(what[:300])


@dataclass
class WorkloadResult:
    metrics: list[Metric]
    errors: Errors
    notes: list[str] = field(default_factory=list)


@dataclass
class Context:
    """What a workload is given.

    Attributes:
        server: the running server (ports, which protocols listen, RSS).
        manifest: users, passwords, and the facts of every seeded mailbox.
        profile: the seeded sizes.
        quick: the small variant (``--quick``).
        duration_s: how long each throughput loop runs.
        idle_connections: connections the IDLE workload opens.
    """

    server: Server
    manifest: Manifest
    profile: Profile
    quick: bool
    duration_s: float
    idle_connections: int
    op_timeout_s: float = 300.0

    def port(self, proto: str) -> int:
        return self.server.ports[proto]

    def require(self, *protos: str) -> None:
        for proto in protos:
            if proto not in self.server.listening:
                raise Skip(self.server.skip_reasons.get(proto, f"{proto} not listening"))


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (``pct`` in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, int(round(pct / 100.0 * len(ordered) + 0.5)))
    return ordered[min(rank, len(ordered)) - 1]


async def run_for(
    duration_s: float,
    workers: int,
    cycle: Callable[[int], Awaitable[None]],
    errors: Errors,
    timeout_s: float = 60.0,
) -> tuple[int, float]:
    """Run ``cycle(worker)`` in ``workers`` concurrent loops for ``duration_s``.

    A cycle that raises or exceeds ``timeout_s`` is an error, and its loop goes on.

    Returns:
        (completed cycles, elapsed seconds until the last loop finished).
    """
    done = 0
    end = time.perf_counter() + duration_s
    started = time.perf_counter()

    async def loop(worker: int) -> None:
        nonlocal done
        while time.perf_counter() < end:
            try:
                await asyncio.wait_for(cycle(worker), timeout_s)
                done += 1
            except asyncio.CancelledError:
                raise
            except TimeoutError:
                errors.add(f"worker {worker}: cycle timed out after {timeout_s:.0f}s")
                await asyncio.sleep(0.05)
            except Exception as e:  # noqa: BLE001 - every failure is counted, none stops the run
                errors.add(f"worker {worker}: {type(e).__name__}: {e}")
                await asyncio.sleep(0.05)  # do not spin on a refusing server

    await asyncio.gather(*(loop(w) for w in range(workers)))
    return done, time.perf_counter() - started
