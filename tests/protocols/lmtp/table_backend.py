"""An in-test LMTP backend: a table of users and a list of what was delivered."""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred, succeed

from mailsuite.delivery.spool import Spool
from mailsuite.protocols.lmtp.commands import Path
from mailsuite.protocols.lmtp.session import Transaction
from mailsuite.protocols.lmtp.wire import Reply

__all__ = ["HoldingBackend", "SlowLookupBackend", "TableBackend"]


class TableBackend:
    """Accepts known users; delivery 'fails' for users listed in ``broken``."""

    def __init__(self, users: set[str], broken: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.users = users
        self.broken = broken
        self.delivered: list[tuple[str, str, bytes]] = []

    def new_spool(self) -> Spool:
        return Spool()

    def check_recipient(self, path: Path, txn: Transaction) -> Deferred[tuple[Reply, Any]]:
        if path.local in self.users:
            return succeed((Reply.of(250, "2.1.5", "OK"), path.local))
        return succeed((Reply.of(550, "5.1.1", "User doesn't exist"), None))

    def deliver(self, handle: Any, txn: Transaction, spool: Spool) -> Deferred[Reply]:
        if handle in self.broken:
            return succeed(Reply.of(452, "4.2.2", "Mailbox is full"))
        with spool.open() as f:
            self.delivered.append((handle, txn.sender.address, f.read()))
        return succeed(Reply.of(250, "2.0.0", f"{handle} Saved"))


class SlowLookupBackend(TableBackend):
    """RCPT lookups complete only when the test fires them, in any order."""

    def __init__(self) -> None:
        super().__init__({"alice", "bob", "carol"})
        self.lookups: list[tuple[str, Deferred[tuple[Reply, Any]]]] = []

    def check_recipient(self, path: Any, txn: Transaction) -> Deferred[tuple[Reply, Any]]:
        d: Deferred[tuple[Reply, Any]] = Deferred()
        self.lookups.append((path.local, d))
        return d


class HoldingBackend(TableBackend):
    """Delivery waits until the test fires it, reading the spool only then."""

    def __init__(self) -> None:
        super().__init__({"alice"})
        self.waiting: list[tuple[Deferred[Reply], Spool]] = []

    def deliver(self, handle: Any, txn: Transaction, spool: Spool) -> Deferred[Reply]:
        d: Deferred[Reply] = Deferred()
        self.waiting.append((d, spool))
        return d
