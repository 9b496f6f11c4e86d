"""The auth cache: hits, misses, negative entries, TTL expiry, size bound, password changes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from twisted.internet.task import Clock

from mailsuite.auth.base import PassdbEntry
from mailsuite.auth.cache import AuthCache
from mailsuite.auth.control import request_flush
from mailsuite.auth.interfaces import AuthFailure, AuthSuccess
from tests.auth.conftest import LOCAL, build, make_settings, resolve


def counting(svc: Any) -> list[str]:
    """Count the passdb lookups the service makes."""
    calls: list[str] = []
    db = svc.checker.passdbs[0]
    inner = db.lookup

    def lookup(user: str) -> Any:
        calls.append(user)
        return inner(user)

    db.lookup = lookup
    return calls


def setup(tmp_path: Path, **auth: Any) -> tuple[Any, Clock, list[str]]:
    (tmp_path / "users").write_text("alice:{PLAIN}one::::::\n")
    auth.setdefault("cache_ttl_s", 60.0)
    auth.setdefault("cache_negative_ttl_s", 10.0)
    svc, clock = build(make_settings(tmp_path, **auth))
    return svc, clock, counting(svc)


def login(svc: Any, clock: Clock, user: str, pw: str) -> bool:
    return isinstance(resolve(svc.login(user, pw, LOCAL), clock), AuthSuccess)


def test_hit_avoids_passdb(tmp_path: Path) -> None:
    """A second login within the TTL is answered without asking the passdb."""
    svc, clock, calls = setup(tmp_path)
    assert login(svc, clock, "alice", "one")
    assert login(svc, clock, "alice", "one")
    assert calls == ["alice"]
    assert svc.cache.hits >= 1


def test_ttl_expiry_asks_again(tmp_path: Path) -> None:
    """After the TTL the passdb is asked again."""
    svc, clock, calls = setup(tmp_path)
    login(svc, clock, "alice", "one")
    clock.advance(61)
    login(svc, clock, "alice", "one")
    assert calls == ["alice", "alice"]


def test_negative_entry(tmp_path: Path) -> None:
    """An unknown user is remembered for the negative TTL, then looked up again."""
    svc, clock, calls = setup(tmp_path)
    assert not login(svc, clock, "zed", "pw")
    (tmp_path / "users").write_text("alice:{PLAIN}one::::::\nzed:{PLAIN}pw::::::\n")
    assert not login(svc, clock, "zed", "pw")  # within 10 s: still the cached "unknown"
    assert calls.count("zed") == 1
    clock.advance(11)
    assert login(svc, clock, "zed", "pw")
    assert calls.count("zed") == 2


def test_cached_success_never_admits_other_password(tmp_path: Path) -> None:
    """After a cached success a different password is still refused."""
    svc, clock, calls = setup(tmp_path)
    assert login(svc, clock, "alice", "one")
    assert not login(svc, clock, "alice", "two")
    assert not login(svc, clock, "alice", "")
    assert login(svc, clock, "alice", "one")


def test_password_change_takes_effect_at_once(tmp_path: Path) -> None:
    """A new password works immediately: a failure over a cached success re-asks the passdb."""
    svc, clock, calls = setup(tmp_path)
    assert login(svc, clock, "alice", "one")
    (tmp_path / "users").write_text("alice:{PLAIN}two::::::\n")
    assert login(svc, clock, "alice", "two")
    assert calls == ["alice", "alice"]
    # The fresh entry replaced the old one: the old password no longer works.
    assert not login(svc, clock, "alice", "one")


def test_cache_off_asks_every_time(tmp_path: Path) -> None:
    """With cache_size = 0 every login reads the passdb."""
    svc, clock, calls = setup(tmp_path, cache_size=0)
    login(svc, clock, "alice", "one")
    login(svc, clock, "alice", "one")
    assert calls == ["alice", "alice"]


def test_size_bound_evicts_least_recent() -> None:
    """Beyond max_entries the least recently used user is dropped."""
    cache = AuthCache(Clock(), max_entries=2, ttl_s=60, negative_ttl_s=10)
    for name in ("a", "b"):
        cache.put("passdb", name, (PassdbEntry(name, "{PLAIN}x"),))
    assert cache.get("passdb", "a") is not None  # a is now most recent
    cache.put("passdb", "c", (PassdbEntry("c", "{PLAIN}x"),))
    assert len(cache) == 2
    assert cache.get("passdb", "b") is None
    assert cache.get("passdb", "a") is not None


def test_flush_one_user_and_all() -> None:
    """flush(user) drops that user's entries; flush() drops everything."""
    cache = AuthCache(Clock(), 10, 60, 10)
    cache.put("passdb", "a", ())
    cache.put("master", "a", ())
    cache.put("passdb", "b", ())
    assert cache.flush("a") == 2
    assert cache.flush() == 1
    assert len(cache) == 0


def test_admin_flush_request_applied_by_server(tmp_path: Path) -> None:
    """A flush queued by `mailsuite auth cache flush` empties the running service's cache."""
    svc, clock, calls = setup(tmp_path)
    login(svc, clock, "alice", "one")
    request_flush(str(tmp_path / "var/state"), "alice")
    clock.advance(2)
    login(svc, clock, "alice", "one")
    assert calls == ["alice", "alice"]


def test_broken_passdb_answer_not_cached(tmp_path: Path) -> None:
    """A lookup that failed on a broken database is not remembered."""
    svc, clock, calls = setup(tmp_path)
    (tmp_path / "users").unlink()
    svc.checker.passdbs[0].file._stamp = None  # as if never read
    res = resolve(svc.login("alice", "one", LOCAL), clock)
    assert isinstance(res, AuthFailure) and res.code == "unavailable"
    assert len(svc.cache) == 0


def test_userdb_lookups_cached(tmp_path: Path) -> None:
    """Repeated lookups (LMTP RCPT) are served from the cache until the TTL or a flush."""
    svc, clock, _ = setup(tmp_path)
    udb = svc.realm.userdbs[0]
    calls: list[str] = []
    inner = udb.lookup
    udb.lookup = lambda user: calls.append(user) or inner(user)
    for _ in range(3):
        assert resolve(svc.lookup("alice", LOCAL), clock) is not None
        assert resolve(svc.lookup("ghost", LOCAL), clock) is None
    assert calls == ["alice", "ghost"]
    clock.advance(61)
    resolve(svc.lookup("alice", LOCAL), clock)
    assert calls.count("alice") == 2
    svc.cache.flush("alice")
    resolve(svc.lookup("alice", LOCAL), clock)
    assert calls.count("alice") == 3
