"""Address helpers shared by every listener and the auth policy."""

from __future__ import annotations

import ipaddress

__all__ = ["is_loopback", "parse_ip"]


def parse_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a peer string names, zone id dropped and v4-mapped IPv6 unmapped.

    A dual-stack listener reports IPv4 peers as ``::ffff:a.b.c.d``; policy
    (loopback, trusted networks) must judge them as the IPv4 address they are.
    """
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def is_loopback(host: str) -> bool:
    ip = parse_ip(host)
    return ip is not None and ip.is_loopback
