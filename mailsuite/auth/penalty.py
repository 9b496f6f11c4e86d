"""Defences: a growing delay for failed logins per remote IP, and a per-user+IP connection limit.

Like Dovecot's auth-penalty: each failure from an IP (an IPv6 /64) doubles the delay before
the failure is answered (``base_s``, 2x, 4x... capped at ``max_s``); a success
from that IP or an hour without failures clears it. The table is bounded so a
botnet cannot grow it without limit. Time comes from an injected clock.
"""

from __future__ import annotations

import ipaddress
from collections import OrderedDict
from collections.abc import Callable

from mailsuite.auth.base import Clock

__all__ = ["ConnectionLimiter", "FailurePenalty", "penalty_key"]

PENALTY_FORGET_S = 3600.0  # Dovecot's AUTH_PENALTY_TIMEOUT
PENALTY_MAX_IPS = 100_000


def penalty_key(ip: str) -> str:
    """The unit a penalty is counted for: the IPv4 address, or the IPv6 /64.

    One IPv6 client usually owns a whole /64 and can change address at will
    (RFC 4941 temporary addresses), so counting per address would be no defence.
    """
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return ip
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return str(addr.ipv4_mapped)
        return str(ipaddress.IPv6Network((addr, 64), strict=False))
    return str(addr)


class FailurePenalty:
    """Per-IP failure counts and the delay they earn."""

    def __init__(
        self,
        clock: Clock,
        base_s: float,
        max_s: float,
        forget_after_s: float = PENALTY_FORGET_S,
        max_ips: int = PENALTY_MAX_IPS,
    ) -> None:
        self.clock = clock
        self.base_s = base_s
        self.max_s = max_s
        self.forget_after_s = forget_after_s
        self.max_ips = max_ips
        self._ips: OrderedDict[str, tuple[int, float]] = OrderedDict()  # ip -> (count, last)

    def failures(self, ip: str) -> int:
        """Failures counted for ``ip`` (0 once forgotten)."""
        ip = penalty_key(ip)
        item = self._ips.get(ip)
        if item is None:
            return 0
        count, last = item
        if self.clock.seconds() - last >= self.forget_after_s:
            del self._ips[ip]
            return 0
        return count

    def delay_for(self, count: int) -> float:
        """The delay the ``count``-th failure earns: base * 2^(count-1), capped."""
        if count <= 0 or self.base_s <= 0:
            return 0.0
        return float(min(self.base_s * (2 ** min(count - 1, 30)), self.max_s))

    def failed(self, ip: str) -> float:
        """Count a failure from ``ip``; returns how long to wait before answering it."""
        count = self.failures(ip) + 1
        ip = penalty_key(ip)
        self._ips[ip] = (count, self.clock.seconds())
        self._ips.move_to_end(ip)
        while len(self._ips) > self.max_ips:
            self._ips.popitem(last=False)
        return self.delay_for(count)

    def succeeded(self, ip: str) -> None:
        self._ips.pop(penalty_key(ip), None)


class ConnectionLimiter:
    """At most ``limit`` logged-in sessions per (user, remote IP); 0 disables the limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._counts: dict[tuple[str, str], int] = {}

    def count(self, user: str, ip: str) -> int:
        return self._counts.get((user, ip), 0)

    def acquire(self, user: str, ip: str) -> Callable[[], None] | None:
        """Take a slot; returns the release function (idempotent), or None when full."""
        key = (user, ip)
        if self.limit > 0 and self._counts.get(key, 0) >= self.limit:
            return None
        self._counts[key] = self._counts.get(key, 0) + 1
        released = False

        def release() -> None:
            nonlocal released
            if released:
                return
            released = True
            left = self._counts.get(key, 0) - 1
            if left > 0:
                self._counts[key] = left
            else:
                self._counts.pop(key, None)

        return release
