"""The change hub wakes subscribers for in-process and on-disk changes."""

from __future__ import annotations

import os
import threading

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
