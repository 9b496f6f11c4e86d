"""Tests for the real LMTP backend: RCPT lookups against a passwd-file userdb."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.task import Clock

from mailsuite.auth.factory import build_auth_service
from mailsuite.auth.interfaces import UserRecord
from mailsuite.config.load import settings_from_mapping
from mailsuite.delivery.deliver import DeliveryOptions
from mailsuite.protocols.lmtp.backend import DeliveryBackend
from mailsuite.protocols.lmtp.commands import Path as LmtpPath
from mailsuite.protocols.lmtp.session import Transaction
from mailsuite.store.maildir import open_user_store


class Setup:
    """A passwd-file userdb the test edits, and a backend over it with a hand-driven clock."""

    def __init__(self, tmp_path: Path, user_cache_s: float) -> None:
        self.users = tmp_path / "users"
        self.bump = 0
        self.write("alice")
        settings = settings_from_mapping(
            {
                "passdb": [{"driver": "passwd-file", "path": str(self.users)}],
                "userdb": [{"driver": "passwd-file", "path": str(self.users)}],
                "mail": {"location": str(tmp_path / "mail" / "%u")},
                # The auth cache off: these tests watch the backend's own memory.
                "auth": {"username_format": "%n", "cache_size": 0},
            }
        )

        def open_store(record: UserRecord) -> Any:
            return open_user_store(record.mail, user=record.username)

        auth = build_auth_service(
            settings, reactor=Clock(), run_blocking=maybeDeferred, store_factory=open_store
        )
        self.now = 100.0
        self.backend = DeliveryBackend(
            auth=auth,
            run_blocking=maybeDeferred,
            options=DeliveryOptions(),
            user_cache_s=user_cache_s,
            clock=lambda: self.now,
        )

    def write(self, *names: str) -> None:
        import os

        self.users.write_text("".join(f"{n}:{{PLAIN}}pw::::::\n" for n in names))
        # A distinct mtime per edit, so the passwd-file reader sees every change.
        self.bump += 10
        os.utime(self.users, (1_000_000 + self.bump, 1_000_000 + self.bump))

    def rcpt(self, address: str) -> int:
        local, _, domain = address.partition("@")
        txn = Transaction(sender=LmtpPath("s", "example.net"), session_id="T")
        d: Deferred[Any] = self.backend.check_recipient(LmtpPath(local, domain), txn)
        out: list[Any] = []
        d.addBoth(out.append)
        assert out, "the lookup did not complete"
        reply, _ = out[0]
        return int(reply.code)


def test_a_found_user_is_remembered_for_user_cache_s(tmp_path: Path) -> None:
    """A user removed from the userdb is still accepted until user_cache_s has passed."""
    s = Setup(tmp_path, user_cache_s=2.0)
    assert s.rcpt("alice@example.org") == 250
    s.write("bob")  # alice removed
    s.now += 1.0
    assert s.rcpt("alice+lists@example.org") == 250  # the detail does not matter
    s.now += 1.5
    assert s.rcpt("alice@example.org") == 550


def test_unknown_users_are_never_remembered(tmp_path: Path) -> None:
    """A 550 is final for the MTA, so an unknown user is looked up again at the next RCPT."""
    s = Setup(tmp_path, user_cache_s=2.0)
    assert s.rcpt("bob@example.org") == 550
    s.write("alice", "bob")
    assert s.rcpt("bob@example.org") == 250


def test_no_user_cache_looks_up_every_time(tmp_path: Path) -> None:
    """With user_cache_s = 0 a removed user is refused at once."""
    s = Setup(tmp_path, user_cache_s=0.0)
    assert s.rcpt("alice@example.org") == 250
    s.write("bob")
    assert s.rcpt("alice@example.org") == 550
