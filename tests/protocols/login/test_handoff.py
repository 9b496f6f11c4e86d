"""plan_proxy: local or proxied, and which credentials the backend login uses."""

from __future__ import annotations

from dataclasses import dataclass, field

from mailsuite.protocols.login.handoff import FrontendConfig, NotProxied, ProxyPlan, plan_proxy
from mailsuite.protocols.login.routing import HashRing, Router


@dataclass
class Avatar:
    username: str
    passdb_fields: dict[str, str] = field(default_factory=dict)
    master_user: str = ""


def _config(**kw: object) -> FrontendConfig:
    router = Router(HashRing(["10.0.0.1", "10.0.0.2"]), {"imap": 143, "pop3": 110})
    return FrontendConfig(auth=None, router=router, reactor=None, **kw)  # type: ignore[arg-type]


def test_client_password_is_replayed() -> None:
    """A LOGIN/PLAIN client's password is used for the backend login."""
    plan = plan_proxy(_config(), Avatar("alice"), "pw", "imap", 5)
    assert isinstance(plan, ProxyPlan)
    assert (plan.creds.login_name, plan.creds.password) == ("alice", "pw")


def test_master_settings_win_and_missing_password_is_explained() -> None:
    """master_user gives user*master; without it a CRAM-MD5 login cannot be proxied."""
    plan = plan_proxy(_config(master_user="px", master_password="m"), Avatar("a"), None, "imap", 5)
    assert isinstance(plan, ProxyPlan) and plan.creds.login_name == "a*px"
    refused = plan_proxy(_config(), Avatar("a"), None, "imap", 5)
    assert isinstance(refused, NotProxied) and "no password" in refused.detail


def test_client_master_login_is_carried_over() -> None:
    """A client's own master login (user*admin) logs in the same way at the backend."""
    plan = plan_proxy(_config(), Avatar("alice", master_user="admin"), "admin-pw", "imap", 5)
    assert isinstance(plan, ProxyPlan) and plan.creds.login_name == "alice*admin"


def test_ring_owner_that_is_this_node_is_served_locally() -> None:
    """A hashed user whose backend is this node stays here instead of proxying to ourselves."""
    ring = HashRing(["10.0.0.1", "10.0.0.2"])
    user = next(u for u in (f"u{i}" for i in range(100)) if ring.node_for(u) == "10.0.0.1")
    plan = plan_proxy(_config(local_names=frozenset({"10.0.0.1"})), Avatar(user), "pw", "imap", 5)
    assert plan == NotProxied(True)
    plan = plan_proxy(_config(), Avatar(user), "pw", "imap", 5, local_ip="10.0.0.1")
    assert plan == NotProxied(True)


def test_proxy_maybe_to_ourselves_is_local_but_proxy_is_a_loop() -> None:
    """proxy_maybe pointing here is served here; proxy pointing at our own listener is refused."""
    fields = {"proxy_maybe": "y", "host": "192.0.2.1", "port": "143"}
    assert plan_proxy(
        _config(), Avatar("a", fields), "pw", "imap", 5, local_ip="192.0.2.1"
    ) == NotProxied(True)
    fields = {"proxy": "y", "host": "192.0.2.1", "port": "143"}
    own = frozenset({("192.0.2.1", 143)})
    plan = plan_proxy(_config(own_addresses=own), Avatar("a", fields), "pw", "imap", 5)
    assert isinstance(plan, NotProxied) and not plan.local and "loops" in plan.detail


def test_exhausted_ttl_refuses() -> None:
    """With no hops left, even a valid destination is refused as a probable loop."""
    plan = plan_proxy(_config(), Avatar("a"), "pw", "imap", 0)
    assert isinstance(plan, NotProxied) and "TTL" in plan.detail


def test_destuser_and_pass_fields() -> None:
    """destuser renames the backend login; a passdb pass field replaces the client's password."""
    fields = {"proxy": "", "host": "h", "destuser": "al@b", "pass": "p2"}
    plan = plan_proxy(_config(), Avatar("alice", fields), "pw", "pop3", 5)
    assert isinstance(plan, ProxyPlan)
    assert (plan.dest.port, plan.creds.login_name, plan.creds.password) == (110, "al@b", "p2")
