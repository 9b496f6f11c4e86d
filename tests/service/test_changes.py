"""The change hub wakes subscribers for in-process and on-disk changes."""

from __future__ import annotations

import os
import threading
from typing import Any

from twisted.internet import defer, reactor
from twisted.trial import unittest

from mailsuite.service.changes import ChangeHub


class ChangeHubTests(unittest.TestCase):
    def setUp(self) -> None:
        self.hub = ChangeHub(reactor)
        self.addCleanup(self.hub.stop)
        self.dir = self.mktemp()
        os.makedirs(self.dir)

    def wait_for_call(self, key: str, paths: list[str]) -> defer.Deferred[None]:
        d: defer.Deferred[None] = defer.Deferred()
        timeout = reactor.callLater(5, d.errback, AssertionError("no change notification"))

        def fired() -> None:
            if not d.called:
                timeout.cancel()
                d.callback(None)

        unsubscribe = self.hub.subscribe(key, paths, fired)
        self.addCleanup(unsubscribe)
        return d

    def test_changed_from_a_thread_reaches_the_reactor(self) -> defer.Deferred[None]:
        """A store change reported from a pool thread calls the subscriber on the reactor."""
        d = self.wait_for_call("box", [])
        threading.Thread(target=self.hub.changed, args=("box",)).start()
        return d

    def test_changes_from_many_threads_reach_every_mailbox(self) -> defer.Deferred[Any]:
        """Bursts of store changes from several threads wake the subscriber of each mailbox."""
        waits = [self.wait_for_call(f"box{i}", []) for i in range(3)]

        def burst() -> None:
            for n in range(100):
                self.hub.changed(f"box{n % 3}")

        for _ in range(4):
            threading.Thread(target=burst).start()
        return defer.gatherResults(waits)

    def test_file_created_by_another_writer_wakes_the_subscriber(self) -> defer.Deferred[None]:
        """A file dropped into a watched directory (another process's delivery) is noticed."""
        d = self.wait_for_call("box", [self.dir])
        reactor.callLater(0.1, lambda: open(os.path.join(self.dir, "msg"), "wb").close())
        return d

    def test_unsubscribed_callbacks_are_not_called(self) -> defer.Deferred[None]:
        """After unsubscribe a change is not delivered."""
        calls: list[int] = []
        unsubscribe = self.hub.subscribe("other", [self.dir], lambda: calls.append(1))
        unsubscribe()
        self.hub.changed("other")
        d: defer.Deferred[None] = defer.Deferred()
        reactor.callLater(0.3, d.callback, None)
        d.addCallback(lambda _: self.assertEqual(calls, []))
        return d


class WatchLifetimeTests(unittest.TestCase):
    """Watches are shared, outlive their last subscriber for a while, and follow the disk."""

    def setUp(self) -> None:
        self.hub = ChangeHub(reactor, watch_linger_s=0.4)
        self.addCleanup(self.hub.stop)
        self.root = os.path.abspath(self.mktemp())
        os.makedirs(self.root)

    def mkdir(self, *parts: str) -> str:
        path = os.path.join(self.root, *parts)
        os.makedirs(path)
        return path

    def drop_file(self, directory: str, name: str = "msg") -> None:
        with open(os.path.join(directory, name), "wb") as f:
            f.write(b"x")

    def until(self, what: list[int], timeout_s: float = 5.0) -> defer.Deferred[None]:
        """Fires once ``what`` is non-empty; fails after ``timeout_s``."""
        d: defer.Deferred[None] = defer.Deferred()
        deadline = reactor.seconds() + timeout_s

        def check() -> None:
            if what:
                d.callback(None)
            elif reactor.seconds() > deadline:
                d.errback(AssertionError("no change notification"))
            else:
                reactor.callLater(0.02, check)

        check()
        return d

    def sleep(self, seconds: float) -> defer.Deferred[None]:
        d: defer.Deferred[None] = defer.Deferred()
        reactor.callLater(seconds, d.callback, None)
        return d

    @defer.inlineCallbacks
    def test_watch_lingers_after_unsubscribe_and_serves_the_next_subscriber(self) -> Any:
        """The last unsubscribe keeps the watch; a new subscriber is woken through it."""
        box = self.mkdir("box")
        self.hub.subscribe("box", [box], lambda: None)()
        self.assertIn(box, self.hub.watching)
        calls: list[int] = []
        unsubscribe = self.hub.subscribe("box", [box], lambda: calls.append(1))
        self.addCleanup(unsubscribe)
        self.drop_file(box)
        yield self.until(calls)

    @defer.inlineCallbacks
    def test_unused_watch_is_removed_after_the_linger_time(self) -> Any:
        """A watch nobody has used for the linger time is removed from the kernel."""
        box = self.mkdir("box")
        self.hub.subscribe("box", [box], lambda: None)()
        for _ in range(100):
            if box not in self.hub.watching:
                break
            yield self.sleep(0.05)
        self.assertNotIn(box, self.hub.watching)

    @defer.inlineCallbacks
    def test_two_sessions_share_a_watch_and_both_hear_a_change(self) -> Any:
        """Two subscribers of one mailbox are both woken; one leaving does not deafen the other."""
        box = self.mkdir("box")
        first: list[int] = []
        second: list[int] = []
        leave = self.hub.subscribe("box", [box], lambda: first.append(1))
        stay = self.hub.subscribe("box", [box], lambda: second.append(1))
        self.addCleanup(stay)
        leave()
        self.drop_file(box)
        yield self.until(second)
        self.assertEqual(first, [])

    @defer.inlineCallbacks
    def test_recreated_directory_is_watched_again(self) -> Any:
        """A mailbox directory deleted and made again is watched anew on the next subscribe."""
        box = self.mkdir("box")
        self.hub.subscribe("box", [box], lambda: None)()
        os.rmdir(box)
        yield self.sleep(0.1)  # the kernel's IN_IGNORED arrives
        os.makedirs(box)
        calls: list[int] = []
        unsubscribe = self.hub.subscribe("box", [box], lambda: calls.append(1))
        self.addCleanup(unsubscribe)
        self.drop_file(box)
        yield self.until(calls)

    @defer.inlineCallbacks
    def test_renamed_mailbox_path_follows_the_new_directory(self) -> Any:
        """After a rename, the old name's new directory is watched, not the moved one."""
        old = self.mkdir("A", "new")
        self.hub.subscribe("A", [old], lambda: None)()
        os.rename(os.path.join(self.root, "A"), os.path.join(self.root, "B"))
        fresh = self.mkdir("A", "new")
        calls: list[int] = []
        unsubscribe = self.hub.subscribe("A", [fresh], lambda: calls.append(1))
        self.addCleanup(unsubscribe)
        self.drop_file(os.path.join(self.root, "B", "new"))  # the moved directory: not A
        yield self.sleep(0.3)
        self.assertEqual(calls, [])
        self.drop_file(fresh)
        yield self.until(calls)

    @defer.inlineCallbacks
    def test_a_burst_of_files_wakes_a_subscriber_a_few_times(self) -> Any:
        """Hundreds of new files (one read of many events) wake the session, coalesced."""
        box = self.mkdir("box")
        calls: list[int] = []
        unsubscribe = self.hub.subscribe("box", [box], lambda: calls.append(1))
        self.addCleanup(unsubscribe)
        for i in range(500):
            self.drop_file(box, f"m{i}")
        yield self.until(calls)
        yield self.sleep(0.2)
        self.assertLess(len(calls), 10)
