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

The hub reads the inotify descriptor itself (``struct inotify_event``,
inotify(7)) rather than through ``twisted.internet.inotify``, which builds a
``FilePath`` per event: every message our own sessions write fires a few
events, and that cost was paid on the reactor thread. Watches are shared by
all sessions of a mailbox and outlive the last one by ``WATCH_LINGER_S``, so a
client that logs in, selects and logs out every few seconds does not add and
remove two watches each time.
"""

from __future__ import annotations

import errno
import os
import struct
import threading
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from typing import Any, Final

from twisted.internet import task
from twisted.logger import Logger

__all__ = ["ChangeHub"]

log = Logger()

COALESCE_DELAY_S = 0.05
POLL_INTERVAL_S = 1.0
#: How long a watch nobody subscribes to any more is kept, for the next SELECT.
WATCH_LINGER_S = 60.0
#: Unused watches kept at most; beyond this the oldest go at once (fs.inotify.max_user_watches).
MAX_IDLE_WATCHES = 1000
READ_BYTES = 64 * 1024

# inotify(7) event bits.
IN_MODIFY: Final = 0x00000002
IN_CLOSE_WRITE: Final = 0x00000008
IN_MOVED_FROM: Final = 0x00000040
IN_MOVED_TO: Final = 0x00000080
IN_CREATE: Final = 0x00000100
IN_DELETE: Final = 0x00000200
IN_DELETE_SELF: Final = 0x00000400
IN_MOVE_SELF: Final = 0x00000800
IN_Q_OVERFLOW: Final = 0x00004000
IN_IGNORED: Final = 0x00008000
WATCH_MASK: Final = (
    IN_CREATE
    | IN_MOVED_TO
    | IN_MOVED_FROM
    | IN_DELETE
    | IN_CLOSE_WRITE
    | IN_DELETE_SELF
    | IN_MOVE_SELF
)
_EVENT: Final = struct.Struct("=iIII")  # wd, mask, cookie, len; then len bytes of name

try:  # Linux only
    from twisted.python import _inotify as _syscalls
except ImportError:  # pragma: no cover - other platforms poll
    _syscalls = None  # type: ignore[assignment]


class _InotifyReader:
    """The reactor's reader for the inotify descriptor; hands raw bytes to the hub."""

    def __init__(self, fd: int, on_data: Callable[[bytes], None]) -> None:
        self._fd = fd
        self._on_data = on_data

    def fileno(self) -> int:
        return self._fd

    def logPrefix(self) -> str:
        return "ChangeHub"

    def doRead(self) -> None:
        try:
            data = os.read(self._fd, READ_BYTES)
        except BlockingIOError:
            return
        except OSError as e:
            log.warn("changes: reading inotify failed: {why}", why=e)
            return
        if data:
            self._on_data(data)

    def connectionLost(self, reason: Any) -> None:
        pass


class ChangeHub:
    """Fan-out of mailbox change notifications to the sessions that watch them.

    Args:
        reactor: the reactor (time, readers, ``callFromThread``).
        use_inotify: watch the disk; False (or no inotify): poll every subscribed
            mailbox every ``POLL_INTERVAL_S``.
        watch_linger_s: how long an unused watch is kept for the next subscriber.
    """

    def __init__(
        self, reactor: Any, use_inotify: bool = True, watch_linger_s: float = WATCH_LINGER_S
    ) -> None:
        self._reactor = reactor
        self._linger_s = watch_linger_s
        self._callbacks: dict[str, list[Callable[[], None]]] = defaultdict(list)
        self._pending: dict[str, Any] = {}
        # Keys from changed() in other threads, handed to the reactor in batches.
        self._changed_keys: deque[str] = deque()
        self._changed_lock = threading.Lock()
        self._changed_scheduled = False
        # Watched path -> the mailbox keys it belongs to, and how many subscriptions use it.
        self._path_keys: dict[str, set[str]] = defaultdict(set)
        self._path_refs: dict[str, int] = defaultdict(int)
        # The inotify watches: path <-> watch descriptor, and when each became unused.
        self._path_wd: dict[str, int] = {}
        self._wd_path: dict[int, str] = {}
        self._idle_since: dict[str, float] = {}
        self._fd = -1
        self._reader: _InotifyReader | None = None
        self._sweeper: task.LoopingCall | None = None
        self._poller: task.LoopingCall | None = None
        if use_inotify and _syscalls is not None:
            try:
                self._fd = _syscalls.init()
                os.set_blocking(self._fd, False)
                os.set_inheritable(self._fd, False)  # not into Sieve or worker children
                self._reader = _InotifyReader(self._fd, self._on_data)
                reactor.addReader(self._reader)
            except Exception as e:  # out of inotify instances, or not Linux
                log.warn(
                    "changes: inotify unavailable ({why}); polling every {s}s instead",
                    why=e,
                    s=POLL_INTERVAL_S,
                )
                self._close_fd()

    @property
    def watching(self) -> frozenset[str]:
        """The paths with an inotify watch now (used or lingering)."""
        return frozenset(self._path_wd)

    # -- called by the store (any thread) -----------------------------------
    def changed(self, mailbox_key: str) -> None:
        """A commit in this process changed the mailbox (any thread)."""
        self._changed_keys.append(mailbox_key)
        with self._changed_lock:
            if self._changed_scheduled:
                return  # the reactor has not come for the earlier ones yet: it takes this too
            self._changed_scheduled = True
        self._reactor.callFromThread(self._take_changed)

    def _take_changed(self) -> None:
        with self._changed_lock:
            self._changed_scheduled = False  # first: a key added from now on schedules again
        keys = self._changed_keys
        while keys:
            self._schedule(keys.popleft())

    # -- called by sessions (reactor thread) --------------------------------
    def subscribe(
        self, mailbox_key: str, paths: Sequence[str], callback: Callable[[], None]
    ) -> Callable[[], None]:
        """Call ``callback`` on the reactor whenever the mailbox changes; returns unsubscribe."""
        self._callbacks[mailbox_key].append(callback)
        paths = [os.path.abspath(p) for p in paths]
        for path in paths:
            self._watch(path, mailbox_key)
        if self._reader is None and self._poller is None:
            self._poller = task.LoopingCall(self._poll)
            self._poller.clock = self._reactor
            self._poller.start(POLL_INTERVAL_S, now=False)
        done = False

        def unsubscribe() -> None:
            nonlocal done
            if done:
                return
            done = True
            callbacks = self._callbacks.get(mailbox_key)
            if callbacks and callback in callbacks:
                callbacks.remove(callback)
                if not callbacks:
                    del self._callbacks[mailbox_key]
            for path in paths:
                self._unwatch(path)

        return unsubscribe

    def stop(self) -> None:
        if self._poller is not None and self._poller.running:
            self._poller.stop()
        if self._sweeper is not None and self._sweeper.running:
            self._sweeper.stop()
        self._close_fd()
        for call in self._pending.values():
            if call.active():
                call.cancel()
        self._pending.clear()

    # -- watches --------------------------------------------------------------
    def _watch(self, path: str, key: str) -> None:
        self._path_keys[path].add(key)
        self._path_refs[path] += 1
        self._idle_since.pop(path, None)
        if self._fd < 0 or (self._path_refs[path] > 1 and path in self._path_wd):
            return
        # First user (or a lingering watch): ask the kernel again, which is one cheap
        # syscall and names the directory there *now* (it may have been renamed or
        # recreated since); the same inode gives back the same watch descriptor.
        try:
            wd = int(_syscalls.libc.inotify_add_watch(self._fd, os.fsencode(path), WATCH_MASK))
        except Exception as e:  # noqa: BLE001 - ctypes or encoding trouble: poll-free, log
            log.warn("changes: cannot watch {path}: {why}", path=path, why=e)
            return
        if wd < 0:
            # A vanished directory must not break the session; IDLE still hears our own writes.
            log.warn("changes: cannot watch {path}: inotify_add_watch failed", path=path)
            self._forget_path(path, remove=True)
            return
        old = self._path_wd.get(path)
        if old is not None and old != wd:
            self._forget_wd(old, remove=True)  # the inode it watched left this path
        other = self._wd_path.get(wd)
        if other is not None and other != path:
            self._path_wd.pop(other, None)  # that inode was moved here from ``other``
        self._path_wd[path] = wd
        self._wd_path[wd] = path

    def _unwatch(self, path: str) -> None:
        refs = self._path_refs.get(path, 0) - 1
        if refs > 0:
            self._path_refs[path] = refs
            return
        self._path_refs.pop(path, None)
        self._path_keys.pop(path, None)
        if path not in self._path_wd:
            return
        # Keep the watch for the next session of this mailbox (see the module docstring).
        self._idle_since[path] = self._reactor.seconds()
        if len(self._idle_since) > MAX_IDLE_WATCHES:
            oldest = min(self._idle_since, key=self._idle_since.__getitem__)
            self._forget_path(oldest, remove=True)
        if self._sweeper is None or not self._sweeper.running:
            self._sweeper = task.LoopingCall(self._sweep)
            self._sweeper.clock = self._reactor
            self._sweeper.start(self._linger_s / 2, now=False)

    def _sweep(self) -> None:
        """Remove watches unused for the linger time; stop sweeping when none are left."""
        cutoff = self._reactor.seconds() - self._linger_s
        for path, since in list(self._idle_since.items()):
            if since <= cutoff:
                self._forget_path(path, remove=True)
        if not self._idle_since and self._sweeper is not None and self._sweeper.running:
            self._sweeper.stop()

    def _forget_path(self, path: str, *, remove: bool) -> None:
        self._idle_since.pop(path, None)
        wd = self._path_wd.pop(path, None)
        if wd is not None and self._wd_path.get(wd) == path:
            self._forget_wd(wd, remove=remove)

    def _forget_wd(self, wd: int, *, remove: bool) -> None:
        path = self._wd_path.pop(wd, None)
        if path is not None and self._path_wd.get(path) == wd:
            del self._path_wd[path]
            self._idle_since.pop(path, None)
        if remove and self._fd >= 0:
            # EINVAL when the kernel already dropped it (directory deleted): nothing to do.
            _syscalls.libc.inotify_rm_watch(self._fd, wd)

    def _close_fd(self) -> None:
        if self._reader is not None:
            self._reactor.removeReader(self._reader)
            self._reader = None
        if self._fd >= 0:
            try:
                os.close(self._fd)
            except OSError as e:
                if e.errno != errno.EBADF:
                    log.warn("changes: closing inotify failed: {why}", why=e)
            self._fd = -1
        self._path_wd.clear()
        self._wd_path.clear()
        self._idle_since.clear()

    # -- events -----------------------------------------------------------------
    def _on_data(self, data: bytes) -> None:
        """Dispatch a read's worth of ``struct inotify_event`` records (inotify(7))."""
        # The kernel returns whole events only, so a read never ends mid-record.
        unpack = _EVENT.unpack_from
        size = _EVENT.size
        offset = 0
        end = len(data)
        wd_path = self._wd_path
        path_keys = self._path_keys
        while offset + size <= end:
            wd, mask, _cookie, name_len = unpack(data, offset)
            offset += size + name_len
            if mask & IN_Q_OVERFLOW:
                # Events were lost: every watched mailbox may have changed.
                for key in list(self._callbacks):
                    self._schedule(key)
                continue
            path = wd_path.get(wd)
            if path is None:
                continue
            for key in path_keys.get(path, ()):
                self._schedule(key)
            if mask & IN_IGNORED:
                self._forget_wd(wd, remove=False)  # the kernel dropped the watch
            elif mask & (IN_MOVE_SELF | IN_DELETE_SELF):
                self._forget_wd(wd, remove=True)  # the path no longer names this directory

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
