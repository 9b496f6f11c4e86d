"""A POP3 session on the real store and the real auth service, with no transport.

Blocking calls run inline (``run_blocking`` returns an already-fired
Deferred) and auth failure delays run on a ``task.Clock`` the helpers advance,
so every session test is synchronous and deterministic.
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


@dataclass
class Pop3Env:
    tmp: Path
    clock: Clock
    auth: Any
    settings: Any
    stores: dict[str, Any] = field(default_factory=dict)

    def mail_root(self, user: str) -> str:
        return str(self.tmp / "mail" / user)

    def store(self, user: str = "alice") -> Any:
        """A separate store handle, as another process (IMAP, LMTP) would have."""
        from mailsuite.store.maildir import open_user_store

        return open_user_store(self.mail_root(user), user=user, fsync=False)

    def deliver(self, data: bytes, user: str = "alice", flags: tuple[str, ...] = ()) -> int:
        mailbox = self.store(user).open_mailbox("INBOX")
        try:
            return int(mailbox.append(data, flags))
        finally:
            mailbox.close()

    def session(self, remote_ip: str = "127.0.0.1", secured: bool = True, **config: Any) -> Any:
        from mailsuite.protocols.pop3.session import Pop3Session, SessionConfig

        context = LoginContext(
            service="pop3", remote_ip=remote_ip, secured=secured, session_id="t1"
        )
        return Pop3Session(self.auth, context, run_blocking, SessionConfig(**config))

    def wait(self, d: Deferred[Any]) -> Any:
        """The result of a Deferred, advancing the clock past auth delays."""
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

    def send(self, session: Any, line: bytes | Any) -> Any:
        """Feed one line; return the Response."""
        return self.wait(Deferred.fromCoroutine(session.handle_line(line)))

    def say(self, session: Any, line: bytes | Any) -> bytes:
        """Feed one line; return every byte the server would send for it."""
        response = self.send(session, line)
        out = response.reply.encode()
        if response.stream is not None:
            out += response.stream.read_all()
            if response.on_streamed is not None:
                response.on_streamed()
        return bytes(out)

    def login(self, user: str = "alice", **config: Any) -> Any:
        session = self.session(**config)
        assert self.say(session, b"USER " + user.encode()).startswith(b"+OK")
        reply = self.say(session, b"PASS " + USERS[user].encode())
        assert reply.startswith(b"+OK"), reply
        return session

    def drop(self, session: Any) -> None:
        self.wait(Deferred.fromCoroutine(session.disconnected()))


def require_backends() -> None:
    """Skip (saying which) while the store or auth this needs is not built yet."""
    try:
        from mailsuite.store.maildir import open_user_store  # noqa: F401
    except ImportError as e:
        pytest.skip(f"the Maildir store is not built yet: {e}")
    try:
        from mailsuite.auth.factory import build_auth_service  # noqa: F401
    except ImportError as e:
        pytest.skip(f"auth is not built yet: {e}")


@pytest.fixture
def pop3env(tmp_path: Path) -> Iterator[Pop3Env]:
    """Real passwd-file auth and a real Maildir store under tmp_path."""
    require_backends()
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

    def store_factory(record: Any) -> Any:
        return open_user_store(record.mail, user=record.username, fsync=False)

    auth = factory.build_auth_service(
        settings, reactor=clock, run_blocking=run_blocking, store_factory=store_factory
    )
    yield Pop3Env(tmp_path, clock, auth, settings)
