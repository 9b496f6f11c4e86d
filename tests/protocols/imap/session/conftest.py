"""An IMAP session on the real store and the real auth service, with no transport.

Blocking calls run inline (``run_blocking`` returns an already-fired
Deferred) and auth failure delays run on a ``task.Clock`` the helpers
advance, so every session test is synchronous and deterministic. The
session's output goes to a byte buffer the tests read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.task import Clock
from twisted.python.failure import Failure

from mailsuite.auth.interfaces import LoginContext
from mailsuite.config import settings_from_mapping

USERS = {"alice": "alice-pw", "bob": "bob-pw"}


def run_blocking(f: Callable[..., Any], *args: Any, **kwargs: Any) -> Deferred[Any]:
    return maybeDeferred(f, *args, **kwargs)


class Collect:
    """The session's Output: everything written, in order, in one buffer."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.streamed = 0

    def write(self, data: bytes) -> None:
        self.buf += data

    async def stream(self, source: Any) -> None:
        self.streamed += 1
        for chunk in source.chunks():
            self.buf += chunk

    async def drain(self) -> None:
        return None

    def take(self) -> bytes:
        out = bytes(self.buf)
        self.buf.clear()
        return out


@dataclass
class ImapEnv:
    tmp: Path
    clock: Clock
    auth: Any
    outputs: dict[int, Collect] = field(default_factory=dict)
    quota_messages: list[int] = field(default_factory=lambda: [0])  # for the store factory

    def mail_root(self, user: str) -> str:
        return str(self.tmp / "mail" / user)

    def store(self, user: str = "alice") -> Any:
        """A separate store handle, as another process (LMTP, another IMAP) would have."""
        from mailsuite.store.maildir import open_user_store

        return open_user_store(self.mail_root(user), user=user, fsync=False)

    def deliver(
        self, data: bytes, user: str = "alice", flags: tuple[str, ...] = (), mailbox: str = "INBOX"
    ) -> int:
        box = self.store(user).open_mailbox(mailbox)
        try:
            return int(box.append(data, flags))
        finally:
            box.close()

    def session(
        self, remote_ip: str = "127.0.0.1", secured: bool = True, changes: Any = None, **config: Any
    ) -> Any:
        from mailsuite.protocols.imap.session import ImapSession, SessionConfig

        context = LoginContext(
            service="imap", remote_ip=remote_ip, secured=secured, session_id="t1"
        )
        out = Collect()
        session = ImapSession(
            self.auth, context, run_blocking, out, SessionConfig(**config), changes
        )
        self.outputs[id(session)] = out
        return session

    def wait(self, d: Deferred[Any]) -> Any:
        results: list[Any] = []
        d.addBoth(results.append)
        for _ in range(600):
            if results:
                break
            self.clock.advance(0.5)
        assert results, "the session never answered"
        if isinstance(results[0], Failure):
            results[0].raiseException()
        return results[0]

    def send(self, session: Any, line: bytes) -> Any:
        """Feed one framed command; return the Outcome."""
        return self.wait(Deferred.fromCoroutine(session.handle(line)))

    def say(self, session: Any, line: bytes) -> bytes:
        """Feed one framed command; return every byte the server would send for it."""
        outcome = self.send(session, line)
        return self.outputs[id(session)].take() + outcome.line

    def login(self, user: str = "alice", **config: Any) -> Any:
        session = self.session(**config)
        reply = self.say(session, b"L1 LOGIN " + user.encode() + b" " + USERS[user].encode())
        assert reply.startswith(b"L1 OK"), reply
        return session

    def selected(self, mailbox: str = "INBOX", user: str = "alice") -> Any:
        session = self.login(user)
        reply = self.say(session, b"S1 SELECT " + mailbox.encode())
        assert b"S1 OK" in reply, reply
        return session

    def drop(self, session: Any) -> None:
        self.wait(Deferred.fromCoroutine(session.disconnected()))


def lines(reply: bytes) -> list[bytes]:
    """The response lines (CRLF removed; literals stay inside their line)."""
    return reply.split(b"\r\n")[:-1]


@pytest.fixture
def imapenv(tmp_path: Path) -> Iterator[ImapEnv]:
    """Real passwd-file auth and a real Maildir store under tmp_path."""
    from mailsuite.auth import factory
    from mailsuite.store.maildir import open_user_store

    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "users").write_text(
        "".join(f"{u}:{{PLAIN}}{p}::::::\n" for u, p in USERS.items())
    )
    settings = settings_from_mapping(
        {
            "mail": {"location": str(tmp_path / "mail" / "%u")},
            "passdb": [{"driver": "passwd-file", "path": str(tmp_path / "etc" / "users")}],
            "userdb": [{"driver": "passwd-file", "path": str(tmp_path / "etc" / "users")}],
            "server": {"state_dir": str(tmp_path / "state")},
        }
    )
    clock = Clock()
    quota = [0]

    def store_factory(record: Any) -> Any:
        return open_user_store(
            record.mail, user=record.username, fsync=False, quota_messages=quota[0]
        )

    auth = factory.build_auth_service(
        settings, reactor=clock, run_blocking=run_blocking, store_factory=store_factory
    )
    yield ImapEnv(tmp_path, clock, auth, quota_messages=quota)
