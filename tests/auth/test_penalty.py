"""Failure penalties per IP and the per-user+IP connection limit."""

from __future__ import annotations

from twisted.internet.task import Clock

from mailsuite.auth.penalty import ConnectionLimiter, FailurePenalty, penalty_key


def test_delay_doubles_and_caps() -> None:
    """Each failure from an IP doubles the delay, up to the cap."""
    p = FailurePenalty(Clock(), 2.0, 15.0)
    assert [p.failed("192.0.2.1") for _ in range(6)] == [2.0, 4.0, 8.0, 15.0, 15.0, 15.0]
    assert p.failed("192.0.2.2") == 2.0  # other IPs are not affected


def test_success_and_time_clear_penalty() -> None:
    """A success clears an IP's count; so does an hour without failures."""
    clock = Clock()
    p = FailurePenalty(clock, 2.0, 15.0)
    p.failed("a")
    p.succeeded("a")
    assert p.failures("a") == 0
    p.failed("a")
    p.failed("a")
    clock.advance(3599)
    assert p.failures("a") == 2
    clock.advance(1)
    assert p.failures("a") == 0


def test_table_bounded() -> None:
    """The IP table never grows past its bound."""
    p = FailurePenalty(Clock(), 2.0, 15.0, max_ips=3)
    for i in range(10):
        p.failed(f"10.0.0.{i}")
    assert p.failures("10.0.0.9") == 1
    assert p.failures("10.0.0.0") == 0


def test_zero_base_disables() -> None:
    """failure_delay_s = 0 means no delay at all."""
    assert FailurePenalty(Clock(), 0.0, 0.0).failed("a") == 0.0


def test_connection_limiter() -> None:
    """Slots per (user, IP) are limited and released exactly once."""
    lim = ConnectionLimiter(2)
    r1 = lim.acquire("u", "ip")
    r2 = lim.acquire("u", "ip")
    assert r1 and r2 and lim.acquire("u", "ip") is None
    assert lim.acquire("u", "ip2") is not None
    r1()
    r1()
    assert lim.count("u", "ip") == 1
    assert ConnectionLimiter(0).acquire("u", "ip") is not None  # 0: unlimited


def test_ipv6_counted_per_64() -> None:
    """Failures from addresses in one IPv6 /64 share a penalty; v4-mapped is plain IPv4."""
    p = FailurePenalty(Clock(), 2.0, 15.0)
    p.failed("2001:db8:1:2::1")
    assert p.failed("2001:db8:1:2:ffff::9") == 4.0
    assert p.failed("2001:db8:1:3::1") == 2.0
    p.failed("192.0.2.1")
    assert p.failures("::ffff:192.0.2.1") == 1
    assert penalty_key("not an ip") == "not an ip"
