"""The thread pool that blocking store, index and database work runs in.

Every session calls the store through ``run_blocking(f, *args)``, which must
return a Deferred that fires on the reactor thread. Twisted's
``deferToThreadPool`` does that, but each hand-off goes through its
``Team``/``LockWorker`` machinery, a context copy and a Python-level
``Condition.notify``; with many tiny store calls per command that was about a
tenth of the server's CPU. This pool is the minimum: a fixed set of daemon
threads blocking on one C-implemented ``queue.SimpleQueue``, and one
``callFromThread`` to hand results back: results finished while the reactor
has not yet come for the previous ones ride along with them, so under load
one wake-up of the reactor (a pipe write and read, a poll) serves several.

Fewer threads also means less GIL contention: ten sessions with sixteen
threads each doing many short GIL-releasing calls (``stat``, ``fsync``,
SQLite) convoy on the GIL and spend more CPU per command than the same work
queued behind a few threads. The reactor never waits on the pool.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, Final

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure

__all__ = ["BlockingPool"]

_STOP: Final = object()  # one per thread makes the pool's threads exit

log = Logger()


class BlockingPool:
    """A fixed-size pool of worker threads whose results come back on the reactor.

    Args:
        reactor: provides ``callFromThread``.
        size: the number of threads (at least 1).
        name: the threads' name prefix (seen in ``py-spy`` and ``/proc``).
    """

    def __init__(self, reactor: Any, size: int, name: str = "mailsuite") -> None:
        self._reactor = reactor
        self.size = max(1, size)
        self._name = name
        # Work queued before start() (or while stopped) waits here until a thread takes it.
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        # Finished calls waiting for the reactor: (Deferred, succeeded, result or Failure).
        self._done: deque[tuple[Deferred[Any], bool, Any]] = deque()
        self._done_lock = threading.Lock()
        self._delivery_scheduled = False

    @property
    def started(self) -> bool:
        return bool(self._threads)

    def start(self) -> None:
        """Start the threads (idempotent)."""
        if self._threads:
            return
        for i in range(self.size):
            t = threading.Thread(target=self._work, name=f"{self._name}-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        """Let the threads finish the work already queued, then end them; waits for them."""
        threads, self._threads = self._threads, []
        for _ in threads:
            self._queue.put(_STOP)
        for t in threads:
            t.join()

    def run(self, f: Callable[..., Any], *args: Any, **kwargs: Any) -> Deferred[Any]:
        """Call ``f(*args, **kwargs)`` in a pool thread; the Deferred fires on the reactor."""
        d: Deferred[Any] = Deferred()
        self._queue.put((d, f, args, kwargs))
        return d

    def _work(self) -> None:
        get = self._queue.get
        done = self._done
        while True:
            item = get()
            if item is _STOP:
                return
            d, f, args, kwargs = item
            try:
                done.append((d, True, f(*args, **kwargs)))
            except BaseException:
                done.append((d, False, Failure()))
            # Drop references while idle: a big snapshot must not live on in a parked thread.
            item = d = f = args = kwargs = None
            with self._done_lock:
                if self._delivery_scheduled:
                    continue  # the reactor has not come yet; it takes this one too
                self._delivery_scheduled = True
            self._reactor.callFromThread(self._deliver)

    def _deliver(self) -> None:
        """On the reactor: fire the Deferreds of every finished call, in finishing order."""
        with self._done_lock:
            # Cleared before draining: a result appended from now on schedules another call.
            self._delivery_scheduled = False
        done = self._done
        while done:
            d, ok, result = done.popleft()
            try:
                if ok:
                    d.callback(result)
                else:
                    d.errback(result)
            except Exception:  # noqa: BLE001 - one broken Deferred must not strand the rest
                log.failure("blocking pool: delivering a result failed")
