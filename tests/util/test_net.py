"""Peer addresses are judged the same way by every listener and by the auth policy."""

from __future__ import annotations

import pytest

from mailsuite.util.net import is_loopback, parse_ip


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.9.9.9", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),  # an IPv4 peer on a dual-stack listener
        ("fe80::1%eth0", False),
        ("192.0.2.7", False),
        ("::ffff:192.0.2.7", False),
        ("not an address", False),
        ("", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    """Loopback is recognised in every spelling, and nothing else counts as loopback."""
    assert is_loopback(host) is loopback


def test_parse_ip_unmaps_ipv4_mapped_addresses() -> None:
    """A v4-mapped peer is compared with trusted networks as the IPv4 address it is."""
    assert str(parse_ip("::ffff:10.1.2.3")) == "10.1.2.3"
    assert parse_ip("bogus") is None
