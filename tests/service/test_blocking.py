"""The blocking-work pool runs calls in its threads and answers on the reactor."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from twisted.internet import defer, reactor
from twisted.trial import unittest

from mailsuite.config import Settings
from mailsuite.config.schema import ServerSettings
from mailsuite.errors import ConfigError
from mailsuite.service.blocking import BlockingPool
from mailsuite.service.compose import build_root_service


class BlockingPoolTests(unittest.TestCase):
    def setUp(self) -> None:
        self.pool = BlockingPool(reactor, 3, name="test-pool")
        self.pool.start()
        self.addCleanup(self.pool.stop)

    @defer.inlineCallbacks
    def test_result_arrives_on_the_reactor_thread(self) -> Any:
        """The call runs in a pool thread; its Deferred fires on the reactor's thread."""
        ran_in: list[str] = []
        main = threading.current_thread().name

        def work(a: int, b: int = 0) -> int:
            ran_in.append(threading.current_thread().name)
            return a + b

        fired_in: list[str] = []
        d = self.pool.run(work, 2, b=3)
        d.addCallback(lambda v: fired_in.append(threading.current_thread().name) or v)
        result = yield d
        self.assertEqual(result, 5)
        self.assertTrue(ran_in[0].startswith("test-pool-"))
        self.assertEqual(fired_in, [main])

    @defer.inlineCallbacks
    def test_exception_becomes_the_deferreds_failure(self) -> Any:
        """An exception in the call fails the Deferred with that very exception."""

        def broken() -> None:
            raise KeyError("gone")

        with self.assertRaises(KeyError):
            yield self.pool.run(broken)

    @defer.inlineCallbacks
    def test_no_more_calls_run_at_once_than_threads(self) -> Any:
        """Ten calls on a pool of three never run more than three at a time, and all finish."""
        lock = threading.Lock()
        running = [0, 0]  # now, most at once
        gate = threading.Event()

        def work(i: int) -> int:
            with lock:
                running[0] += 1
                running[1] = max(running[1], running[0])
            gate.wait(5)
            with lock:
                running[0] -= 1
            return i

        ds = [self.pool.run(work, i) for i in range(10)]
        reactor.callLater(0.2, gate.set)
        results = yield defer.gatherResults(ds)
        self.assertEqual(results, list(range(10)))
        self.assertLessEqual(running[1], 3)

    @defer.inlineCallbacks
    def test_results_finished_while_the_reactor_is_busy_fire_in_finishing_order(self) -> Any:
        """Calls finishing while the reactor is busy all fire when it is back, first done first."""
        go = {name: threading.Event() for name in "abc"}
        finished = {name: threading.Event() for name in "abc"}

        def work(name: str) -> str:
            go[name].wait(5)
            finished[name].set()
            return name

        fired: list[str] = []
        ds = [self.pool.run(work, name).addCallback(fired.append) for name in "abc"]
        for count, name in enumerate("cba", 1):  # the reactor is busy here, in this loop
            go[name].set()
            self.assertTrue(finished[name].wait(5))
            for _ in range(500):  # until the pool has queued its result for the reactor
                if len(self.pool._done) == count:
                    break
                time.sleep(0.01)
        self.assertEqual(fired, [])  # nothing runs on the reactor behind its back
        yield defer.gatherResults(ds)
        self.assertEqual(fired, ["c", "b", "a"])

    @defer.inlineCallbacks
    def test_work_queued_before_start_runs_once_started(self) -> Any:
        """Calls made before start() wait for the threads instead of being lost."""
        pool = BlockingPool(reactor, 1)
        d = pool.run(lambda: "later")
        self.assertFalse(d.called)
        pool.start()
        self.addCleanup(pool.stop)
        self.assertEqual((yield d), "later")

    def test_stop_ends_every_thread(self) -> None:
        """stop() returns once the pool's threads have exited."""
        pool = BlockingPool(reactor, 2, name="ending")
        pool.start()
        pool.stop()
        self.assertFalse(pool.started)
        self.assertFalse(any(t.name.startswith("ending-") for t in threading.enumerate()))


@pytest.mark.parametrize("size", [0, -1, 100000])
def test_thread_pool_size_out_of_range_is_a_config_error(tmp_path: Path, size: int) -> None:
    """A thread_pool_size below 1 or absurdly large stops start-up naming the key."""
    settings = Settings(server=ServerSettings(thread_pool_size=size), base_dir=str(tmp_path))
    with pytest.raises(ConfigError, match=r"\[server\] thread_pool_size"):
        build_root_service(settings)
