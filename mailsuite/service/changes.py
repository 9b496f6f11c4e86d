"""Tell sessions that a mailbox changed, so IDLE can push within about a second.

Two sources feed one hub:
- changes committed in this process: the store calls ``changed(key)`` (from a
  thread pool thread; we hop to the reactor);
- changes by other processes (Dovecot, mutt, another mailsuite worker, a
  delivery agent): inotify on the paths the mailbox names in ``watch_paths()``,
  with a polling fallback where inotify is not available.

Sessions subscribe with the mailbox key and get a plain callback on the
reactor thread; they then take a fresh snapshot, which is cheap when nothing
changed. Bursts are coalesced so a 1,000-message delivery wakes a session a
few times, not a thousand.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from twisted.internet import task
from twisted.logger import Logger
from twisted.python import filepath

__all__ = ["ChangeHub"]

log = Logger()

COALESCE_DELAY_S = 0.05
POLL_INTERVAL_S = 1.0

try:  # Linux only
    from twisted.internet import inotify as _inotify
except ImportError:  # pragma: no cover - other platforms poll
    _inotify = None  # type: ignore[assignment]


class ChangeHub:
    """Fan-out of mailbox change notifications to the sessions that watch them."""

    def __init__(self, reactor: Any, use_inotify: bool = True) -> None:
        self._reactor = reactor
        self._callbacks: dict[str, list[Callable[[], None]]] = defaultdict(list)
        self._pending: dict[str, Any] = {}
        self._path_keys: dict[str, set[str]] = defaultdict(set)
        self._path_refs: dict[str, int] = defaultdict(int)
        self._notifier: Any = None
        self._poller: task.LoopingCall | None = None
        if use_inotify and _inotify is not None:
            try:
                self._notifier = _inotify.INotify(reactor=reactor)
                self._notifier.startReading()
            except Exception as e:  # out of inotify instances, or not Linux
                log.warn(
                    "changes: inotify unavailable ({why}); polling every {s}s instead",
                    why=e,
                    s=POLL_INTERVAL_S,
                )
                self._notifier = None

    # -- called by the store (any thread) -----------------------------------
    def changed(self, mailbox_key: str) -> None:
        self._reactor.callFromThread(self._schedule, mailbox_key)

    # -- called by sessions (reactor thread) --------------------------------
    def subscribe(
        self, mailbox_key: str, paths: Sequence[str], callback: Callable[[], None]
    ) -> Callable[[], None]:
        """Call ``callback`` on the reactor whenever the mailbox changes; returns unsubscribe."""
        self._callbacks[mailbox_key].append(callback)
        for path in paths:
            self._watch(path, mailbox_key)
        if self._notifier is None and self._poller is None:
            self._poller = task.LoopingCall(self._poll)
            self._poller.clock = self._reactor
            self._poller.start(POLL_INTERVAL_S, now=False)

        def unsubscribe() -> None:
            callbacks = self._callbacks.get(mailbox_key)
            if callbacks and callback in callbacks:
                callbacks.remove(callback)
                if not callbacks:
                    del self._callbacks[mailbox_key]
            for path in paths:
                self._unwatch(path, mailbox_key)

        return unsubscribe

    def stop(self) -> None:
        if self._poller is not None and self._poller.running:
            self._poller.stop()
        if self._notifier is not None:
            self._notifier.loseConnection()
        for call in self._pending.values():
            if call.active():
                call.cancel()
        self._pending.clear()

    # -- internals ----------------------------------------------------------
    def _watch(self, path: str, key: str) -> None:
        path = os.path.abspath(path)
        self._path_keys[path].add(key)
        self._path_refs[path] += 1
        if self._notifier is None or self._path_refs[path] > 1:
            return
        mask = (
            _inotify.IN_CREATE
            | _inotify.IN_MOVED_TO
            | _inotify.IN_MOVED_FROM
            | _inotify.IN_DELETE
            | _inotify.IN_CLOSE_WRITE
        )
        try:
            self._notifier.watch(filepath.FilePath(path), mask=mask, callbacks=[self._on_inotify])
        except Exception as e:  # a vanished directory must not break the session
            log.warn("changes: cannot watch {path}: {why}", path=path, why=e)

    def _unwatch(self, path: str, key: str) -> None:
        path = os.path.abspath(path)
        self._path_refs[path] -= 1
        if self._path_refs[path] > 0:
            return
        del self._path_refs[path]
        self._path_keys.pop(path, None)
        if self._notifier is not None:
            try:
                self._notifier.ignore(filepath.FilePath(path))
            except KeyError:
                pass

    def _on_inotify(self, _watch: Any, fp: filepath.FilePath[Any], _mask: int) -> None:
        # Events name the child (as bytes); the watch is on its directory or on the file.
        path = os.fsdecode(fp.path)
        for candidate in (path, os.path.dirname(path)):
            for key in self._path_keys.get(candidate, ()):
                self._schedule(key)

    def _poll(self) -> None:
        for key in list(self._callbacks):
            self._schedule(key)

    def _schedule(self, key: str) -> None:
        if key in self._pending or key not in self._callbacks:
            return
        self._pending[key] = self._reactor.callLater(COALESCE_DELAY_S, self._fire, key)

    def _fire(self, key: str) -> None:
        self._pending.pop(key, None)
        for callback in list(self._callbacks.get(key, ())):
            try:
                callback()
            except Exception:
                log.failure("changes: a session's change callback failed for {key}", key=key)
