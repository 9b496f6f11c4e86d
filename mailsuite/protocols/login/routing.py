"""Where a logged-in user's connection goes: this process, or a backend server.

Sans-IO and Twisted-free. The destination comes, in this order of precedence,
from the passdb extra fields Dovecot admins know (``proxy``, ``host``,
``port``, ``ssl``, ``starttls``, ``destuser``, ``proxy_ttl``), then from
consistent hashing of the user name over ``[proxy] backends``: each backend
owns many points (virtual nodes) on a 64-bit ring and a user belongs to the
first point at or after the hash of their name, so a user always lands on the
same backend and adding a backend to N moves only about 1/(N+1) of the users.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

__all__ = [
    "BackendSecurity",
    "Destination",
    "HashRing",
    "RouteError",
    "Router",
    "VIRTUAL_NODES",
    "is_true",
]

# 160 points per backend keeps the share of each within a few percent of 1/N
# for any N an installation has (the figure ketama-style rings use).
VIRTUAL_NODES: Final = 160

BackendSecurity = Literal["none", "starttls", "ssl"]
_TRUE: Final = frozenset({"y", "yes", "1", "true", "on"})


def is_true(value: str | None) -> bool:
    """Dovecot's boolean field values: a present field without a value counts as yes."""
    if value is None:
        return False
    return value == "" or value.strip().lower() in _TRUE


class RouteError(Exception):
    """The user should be proxied but no usable destination exists (an admin mistake)."""


@dataclass(frozen=True)
class Destination:
    """A backend to log the user in to.

    Attributes:
        host: the backend's address.
        port: its port for this protocol.
        security: how to talk to it: plain, STARTTLS/STLS first, or implicit TLS.
        verify_tls: check the backend's certificate (``ssl=any-cert`` turns it off).
        user: the user name to log in with (``destuser``, else the login name).
        source: "passdb" or "hash", for the log line.
        node: the ring node that owns the user ("" for passdb routes).
        proxy_protocol: send a PROXY v2 header (passdb ``proxy_protocol=yes|no``);
            None: as ``[proxy] send_proxy_protocol`` says.
    """

    host: str
    port: int
    security: BackendSecurity = "none"
    verify_tls: bool = True
    user: str = ""
    source: str = "passdb"
    node: str = ""
    proxy_protocol: bool | None = None

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        tls = "" if self.security == "none" else f" ({self.security})"
        return f"{host}:{self.port}{tls}"


def _point(text: str) -> int:
    # MD5 is used for its spread, not for security; it is stable across
    # processes, machines and Python versions (hash() is salted per process).
    return int.from_bytes(hashlib.md5(text.encode("utf-8")).digest()[:8], "big")


class HashRing:
    """Consistent hashing of user names onto backend nodes.

    Args:
        nodes: the backends' stable names (normally their host names). The
            order does not matter; duplicates are ignored.
        virtual_nodes: points per node on the ring.
    """

    def __init__(self, nodes: Sequence[str], virtual_nodes: int = VIRTUAL_NODES) -> None:
        self.nodes = tuple(dict.fromkeys(nodes))
        ring: list[tuple[int, str]] = []
        for node in self.nodes:
            for i in range(virtual_nodes):
                ring.append((_point(f"{node}#{i}"), node))
        ring.sort()
        self._points = [p for p, _ in ring]
        self._owners = [n for _, n in ring]

    def __bool__(self) -> bool:
        return bool(self.nodes)

    def node_for(self, user: str) -> str:
        """The node that owns ``user``.

        Raises:
            RouteError: the ring is empty.
        """
        if not self._points:
            raise RouteError("no backends configured for hashing ([proxy] backends is empty)")
        i = bisect.bisect_left(self._points, _point(user.lower()))
        return self._owners[i % len(self._owners)]


def _port(value: str, key: str) -> int:
    if not value.strip().isdigit() or not 0 < int(value) < 65536:
        raise RouteError(f"passdb field {key}={value!r} is not a port number")
    return int(value)


@dataclass(frozen=True)
class Router:
    """Turns a logged-in user and their passdb fields into a destination.

    Args:
        ring: the hashing ring over ``[proxy] backends`` (may be empty).
        default_ports: protocol -> backend port for hashed routes and for
            passdb routes without ``port``.
        security: how hashed routes talk to backends.
        verify_tls: whether hashed routes check the backend certificate.
    """

    ring: HashRing
    default_ports: Mapping[str, int]
    security: BackendSecurity = "none"
    verify_tls: bool = True

    def route(self, user: str, fields: Mapping[str, str], protocol: str) -> Destination | None:
        """The destination for ``user`` on ``protocol``; None: serve them in this process.

        A passdb ``proxy`` field with a ``host`` routes there; ``proxy``
        without ``host`` and every user without ``proxy`` are hashed over
        the backends when there are any; otherwise the user is local.

        Raises:
            RouteError: the passdb asks for a proxy the settings cannot satisfy.
        """
        proxied = "proxy" in fields or "proxy_maybe" in fields
        host = fields.get("host", "").strip()
        login_as = fields.get("destuser") or user
        if proxied and host:
            port_text = fields.get("port", "")
            if port_text:
                port = _port(port_text, "port")
            elif protocol in self.default_ports:
                port = self.default_ports[protocol]
            else:
                raise RouteError(f"passdb gives host={host} but no port for {protocol}")
            security: BackendSecurity = "none"
            verify = True
            if "ssl" in fields and fields["ssl"].lower() != "no":
                security = "ssl"
                verify = fields["ssl"].lower() != "any-cert"
            elif "starttls" in fields and fields["starttls"].lower() != "no":
                security = "starttls"
                verify = fields["starttls"].lower() != "any-cert"
            pp = fields.get("proxy_protocol")
            return Destination(
                host,
                port,
                security,
                verify,
                login_as,
                "passdb",
                proxy_protocol=None if pp is None else is_true(pp),
            )
        if not self.ring:
            if proxied:
                raise RouteError("passdb field proxy set without host, and no [proxy] backends")
            return None
        node = self.ring.node_for(user)
        if protocol not in self.default_ports:
            raise RouteError(f"no backend port configured for {protocol}")
        return Destination(
            node,
            self.default_ports[protocol],
            self.security,
            self.verify_tls,
            login_as,
            "hash",
            node,
        )
