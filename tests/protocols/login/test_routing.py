"""Destination choice: passdb fields first, then consistent hashing over the backends."""

from __future__ import annotations

import pytest

from mailsuite.protocols.login.routing import HashRing, RouteError, Router, is_true

PORTS = {"imap": 143, "pop3": 110}


def _users(n: int) -> list[str]:
    return [f"user{i}@example.org" for i in range(n)]


def test_same_user_always_maps_to_the_same_node() -> None:
    """Two rings built from the same backends (in any order) agree on every user."""
    a = HashRing(["b1", "b2", "b3"])
    b = HashRing(["b3", "b1", "b2"])
    assert all(a.node_for(u) == b.node_for(u) for u in _users(500))


def test_user_name_case_does_not_change_the_node() -> None:
    """Alice and alice are the same mailbox, so they land on the same backend."""
    ring = HashRing(["b1", "b2", "b3"])
    assert all(ring.node_for(u) == ring.node_for(u.upper()) for u in _users(200))


def test_load_is_spread_evenly() -> None:
    """With virtual nodes, each of 4 backends gets within 20% of a quarter of 20000 users."""
    ring = HashRing(["b1", "b2", "b3", "b4"])
    counts: dict[str, int] = {}
    for u in _users(20000):
        node = ring.node_for(u)
        counts[node] = counts.get(node, 0) + 1
    assert set(counts) == {"b1", "b2", "b3", "b4"}
    assert all(4000 <= c <= 6000 for c in counts.values()), counts


def test_adding_a_backend_moves_about_one_nth() -> None:
    """Going from 4 to 5 backends moves roughly 1/5 of users, all of them to the new one."""
    users = _users(20000)
    before = HashRing(["b1", "b2", "b3", "b4"])
    after = HashRing(["b1", "b2", "b3", "b4", "b5"])
    moved = [u for u in users if before.node_for(u) != after.node_for(u)]
    assert all(after.node_for(u) == "b5" for u in moved)
    assert 0.15 <= len(moved) / len(users) <= 0.25


def test_empty_ring_refuses() -> None:
    """Hashing with no backends is a configuration error, not a crash."""
    with pytest.raises(RouteError):
        HashRing([]).node_for("alice")


def test_passdb_fields_win_over_hashing() -> None:
    """proxy + host + port + destuser + ssl=any-cert give exactly that destination."""
    router = Router(HashRing(["b1"]), PORTS)
    fields = {"proxy": "y", "host": "10.0.0.9", "port": "1143", "destuser": "al", "ssl": "any-cert"}
    dest = router.route("alice", fields, "imap")
    assert dest is not None
    assert (dest.host, dest.port, dest.user, dest.security, dest.verify_tls) == (
        "10.0.0.9",
        1143,
        "al",
        "ssl",
        False,
    )
    assert dest.source == "passdb"


def test_passdb_host_without_port_uses_the_protocol_default() -> None:
    """A host field alone is reached on the backend port configured for the protocol."""
    router = Router(HashRing([]), PORTS)
    dest = router.route("alice", {"proxy": "", "host": "h", "starttls": "yes"}, "pop3")
    assert dest is not None and (dest.port, dest.security, dest.verify_tls) == (
        110,
        "starttls",
        True,
    )


def test_no_fields_and_no_backends_means_local() -> None:
    """Without proxy fields or backends the user is served by this process."""
    assert Router(HashRing([]), PORTS).route("alice", {}, "imap") is None


def test_hashed_route_names_the_owner() -> None:
    """Without passdb routing, the ring's owner and the protocol's port are used."""
    ring = HashRing(["b1", "b2"])
    dest = Router(ring, PORTS, "starttls").route("bob", {}, "imap")
    assert dest is not None
    assert (dest.host, dest.port, dest.source, dest.security) == (
        ring.node_for("bob"),
        143,
        "hash",
        "starttls",
    )


def test_bad_port_field_is_a_route_error() -> None:
    """A passdb port that is not a number is reported, not crashed on."""
    with pytest.raises(RouteError, match="port"):
        Router(HashRing([]), PORTS).route("a", {"proxy": "y", "host": "h", "port": "x"}, "imap")


def test_proxy_without_host_or_backends_is_a_route_error() -> None:
    """proxy=y with nowhere to go is an admin error the log must name."""
    with pytest.raises(RouteError, match="without host"):
        Router(HashRing([]), PORTS).route("a", {"proxy": "y"}, "imap")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, False), ("", True), ("yes", True), ("Y", True), ("no", False), ("0", False)],
)
def test_is_true(value: str | None, expected: bool) -> None:
    """Dovecot's boolean extra-field values are read the same way here."""
    assert is_true(value) is expected
