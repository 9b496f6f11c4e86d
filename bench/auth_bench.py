"""Auth benchmark: logins/s with the auth cache on and off, with a slow scheme (ARGON2ID),
and how responsive the reactor stays while slow hashes run.

    .venv/bin/python -m bench.auth_bench [--logins N] [--users N] [--concurrency N] [--json]

It builds the real auth service (``build_auth_service``) on the real reactor
with a real thread pool, exactly as the server does, over a passwd-file of
``--users`` users, and runs ``--logins`` plaintext logins with
``--concurrency`` in flight. While each run goes on, a 10 ms LoopingCall
measures how late the reactor answers (the "other sessions keep answering"
figure: a session's next command waits at most that long), and a user with a
cached PLAIN password logs in every 50 ms to show a cheap login's latency
while the pool is busy with slow hashes.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import tempfile
import time
from typing import Any

from twisted.internet import defer, reactor, task
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool

from mailsuite.auth import schemes
from mailsuite.auth.factory import build_auth_service
from mailsuite.auth.interfaces import AuthSuccess, LoginContext
from mailsuite.config.schema import AuthSettings, PassdbSettings, Settings, UserdbSettings

__all__ = ["main"]

CTX = LoginContext(service="bench", remote_ip="127.0.0.1", session_id="bench")


@dataclasses.dataclass
class Result:
    scenario: str
    logins: int
    seconds: float
    logins_per_s: float
    reactor_lag_p50_ms: float
    reactor_lag_max_ms: float
    cheap_login_p50_ms: float
    cheap_login_max_ms: float


def write_users(directory: str, scheme: str, users: int) -> str:
    path = os.path.join(directory, f"users-{scheme}")
    # One hash per user would take minutes for ARGON2ID; the same hash under each
    # name costs the verifier exactly as much (salts do not change the work).
    stored = schemes.generate(scheme, "bench-pw")
    with open(path, "w") as f:
        for i in range(users):
            f.write(f"user{i}:{stored}::::::\n")
        f.write("cheap:{PLAIN}cheap-pw::::::\n")
    return path


async def run_scenario(
    name: str,
    users_path: str,
    cache: bool,
    logins: int,
    users: int,
    concurrency: int,
    pool: ThreadPool,
    on_reactor: bool = False,
) -> Result:
    base = os.path.dirname(users_path)
    settings = dataclasses.replace(
        Settings(),
        base_dir=base,
        passdb=[PassdbSettings(path=users_path)],
        userdb=[UserdbSettings(path=users_path)],
        auth=dataclasses.replace(
            AuthSettings(),
            cache_size=10_000 if cache else 0,
            failure_delay_s=0.0,
            failure_delay_max_s=0.0,
            max_connections_per_user_ip=0,
        ),
    )

    def run_blocking(f: Any, *a: Any, **kw: Any) -> Any:
        if on_reactor:  # the contrast case: what happens if hashes ran on the reactor
            return defer.maybeDeferred(f, *a, **kw)
        return deferToThreadPool(reactor, pool, f, *a, **kw)

    svc = build_auth_service(
        settings, reactor=reactor, run_blocking=run_blocking, store_factory=lambda r: None
    )
    if cache:  # warm: the first login of each user fills the cache
        await defer.gatherResults(
            [svc.login(f"user{i}", "bench-pw", CTX) for i in range(min(users, logins))]
        )
        await svc.login("cheap", "cheap-pw", CTX)

    lags: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        lags.append(max(0.0, (now - last[0]) - 0.010) * 1000)
        last[0] = now

    cheap: list[float] = []

    def cheap_login() -> Any:
        t0 = time.perf_counter()
        d = svc.login("cheap", "cheap-pw", CTX)
        d.addCallback(lambda r: cheap.append((time.perf_counter() - t0) * 1000))
        return None

    ticker = task.LoopingCall(tick)
    ticker.start(0.010, now=False)
    prober = task.LoopingCall(cheap_login)
    prober.start(0.050, now=False)

    sem = defer.DeferredSemaphore(concurrency)
    ok = [0]

    async def login_next_turn(i: int) -> Any:
        # Each login starts in its own reactor turn, as logins arriving from the
        # network do; otherwise cached logins would all finish inside one turn.
        await task.deferLater(reactor, 0, lambda: None)
        return await svc.login(f"user{i % users}", "bench-pw", CTX)

    async def one(i: int) -> None:
        res = await sem.run(lambda: defer.Deferred.fromCoroutine(login_next_turn(i)))
        if isinstance(res, AuthSuccess):
            ok[0] += 1
            res.logout()  # type: ignore[operator]

    t0 = time.perf_counter()
    await defer.gatherResults([defer.Deferred.fromCoroutine(one(i)) for i in range(logins)])
    elapsed = time.perf_counter() - t0
    tick()  # the gap since the last tick counts too (a reactor blocked to the end)
    ticker.stop()
    prober.stop()
    if ok[0] != logins:
        raise SystemExit(f"{name}: only {ok[0]}/{logins} logins succeeded")
    return Result(
        name,
        logins,
        round(elapsed, 3),
        round(logins / elapsed, 1),
        round(statistics.median(lags), 2) if lags else 0.0,
        round(max(lags), 2) if lags else 0.0,
        round(statistics.median(cheap), 2) if cheap else 0.0,
        round(max(cheap), 2) if cheap else 0.0,
    )


async def main_async(args: argparse.Namespace) -> list[Result]:
    pool = ThreadPool(minthreads=2, maxthreads=args.threads, name="bench")
    pool.start()
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="mailsuite-authbench-") as tmp:
            plans = [
                ("PLAIN", [True, False], args.logins),
                ("SHA512-CRYPT", [True, False], args.logins),
                ("ARGON2ID", [True, False], args.slow_logins),
            ]
            for scheme, modes, n in plans:
                path = write_users(tmp, scheme, args.users)
                for cache in modes:
                    name = f"{scheme} cache {'on' if cache else 'off'}"
                    r = await run_scenario(name, path, cache, n, args.users, args.concurrency, pool)
                    results.append(r)
                    report(r)
            if args.contrast:
                path = write_users(tmp, "ARGON2ID", args.users)
                r = await run_scenario(
                    "ARGON2ID on reactor(!)", path, False, 10, args.users, 4, pool, True
                )
                results.append(r)
                report(r)
    finally:
        pool.stop()
    return results


def report(r: Result) -> None:
    print(
        f"{r.scenario:<24} {r.logins:>6} logins {r.seconds:>7.2f} s "
        f"{r.logins_per_s:>9.1f}/s  reactor lag p50 {r.reactor_lag_p50_ms:.2f} ms "
        f"max {r.reactor_lag_max_ms:.2f} ms  cached login p50 "
        f"{r.cheap_login_p50_ms:.2f} ms max {r.cheap_login_max_ms:.2f} ms",
        file=sys.stderr,
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--logins", type=int, default=2000, help="logins per fast scenario")
    p.add_argument("--slow-logins", type=int, default=200, help="logins per ARGON2ID scenario")
    p.add_argument("--users", type=int, default=100)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--threads", type=int, default=16, help="thread pool size ([server])")
    p.add_argument("--json", action="store_true", help="print results as JSON on stdout")
    p.add_argument(
        "--contrast",
        action="store_true",
        help="also run ARGON2ID on the reactor thread, to show the lag it would cause",
    )
    args = p.parse_args()
    out: list[Result] = []

    def go() -> Any:
        d = defer.Deferred.fromCoroutine(main_async(args))
        d.addCallback(out.extend)
        d.addErrback(lambda f: (f.printTraceback(), None))
        d.addBoth(lambda _: reactor.stop())  # type: ignore[attr-defined]

    reactor.callWhenRunning(go)  # type: ignore[attr-defined]
    reactor.run()  # type: ignore[attr-defined]
    if args.json:
        print(json.dumps([dataclasses.asdict(r) for r in out], indent=2))
    return 0 if out else 1


if __name__ == "__main__":
    sys.exit(main())
