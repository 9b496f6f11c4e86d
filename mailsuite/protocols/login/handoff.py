"""What both front ends share after a successful login: where to go and how to get there.

:class:`FrontendConfig` holds everything a front-end connection needs;
:func:`plan_proxy` turns the login (avatar, passdb fields, the password when
the client sent one) into a :class:`ProxyPlan` or the reason it cannot be
proxied; :func:`start_proxy` connects and logs in to the backend; the loop
guard (a TTL, as Dovecot's ``proxy_ttl``, plus refusing to proxy to our own
listeners) lives here too.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from twisted.internet.defer import Deferred

from mailsuite.auth.interfaces import AuthService, AuthSuccess, LoginContext
from mailsuite.util.ids import session_id

from .backend_login import BackendCredentials, ImapBackendLogin, Pop3BackendLogin
from .connector import Outcome, connect_backend
from .proxyproto import encode_v2
from .routing import Destination, RouteError, Router, is_true

__all__ = [
    "DEFAULT_PROXY_TTL",
    "FrontendConfig",
    "LocalHandover",
    "NotProxied",
    "ProxyPlan",
    "Takeover",
    "new_session_id",
    "plan_proxy",
    "start_proxy",
]

DEFAULT_PROXY_TTL: Final = 5  # Dovecot's proxy_ttl: hops before a loop is assumed


@dataclass(frozen=True)
class Takeover:
    """A connection logged in here, for a protocol of this process to serve from now on.

    The local service answers the client's login command (``tag`` for IMAP,
    the one ``USER``/``PASS``/``AUTH`` exchange for POP3) and then reads
    ``pending`` before anything the client sends later.
    """

    transport: Any  # the client's transport (TCP, or TLS when the client used TLS)
    success: AuthSuccess  # the login; the local session owns its logout from now on
    context: LoginContext  # the client's address (the real one from a trusted proxy), session ID
    tls_active: bool  # TLS is in place (implicit TLS or STARTTLS/STLS at the front end)
    pending: bytes = b""  # client bytes after the login command, exactly as sent
    tag: bytes = b""  # IMAP: the LOGIN/AUTHENTICATE tag the local service answers


# Takes a logged-in connection over; returns the protocol the front end feeds from then on.
LocalHandover = Callable[[Takeover], Any]


def new_session_id() -> str:
    return session_id("p")


@dataclass(frozen=True)
class FrontendConfig:
    """Shared by every connection of a front-end listener."""

    auth: AuthService
    router: Router
    reactor: Any
    tls_options: Any = None  # server CertificateOptions (STARTTLS/STLS, implicit TLS)
    implicit_tls: bool = False
    hostname: str = "localhost"
    preauth_timeout_s: float = 60.0
    connect_timeout_s: float = 10.0
    login_timeout_s: float = 30.0
    master_user: str = ""  # log in to backends as user*master_user with master_password
    master_password: str = field(default="", repr=False)
    master_separator: str = "*"
    send_proxy_protocol: bool = False
    ttl: int = DEFAULT_PROXY_TTL
    trusted_networks: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network] = ()
    # Our own listening addresses: proxying there would loop at once.
    own_addresses: frozenset[tuple[str, int]] = frozenset()
    # Names and addresses this node has in [proxy] backends: its own users stay here.
    local_names: frozenset[str] = frozenset()
    local_imap: LocalHandover | None = None  # seam: hand an IMAP login to this process
    local_pop3: LocalHandover | None = None  # seam: hand a POP3 login to this process


@dataclass(frozen=True)
class ProxyPlan:
    dest: Destination
    creds: BackendCredentials


@dataclass(frozen=True)
class NotProxied:
    """No proxying: ``local`` (serve here) or an error for the client and the log."""

    local: bool
    detail: str = ""


def plan_proxy(
    config: FrontendConfig,
    avatar: Any,
    password: str | None,
    protocol: str,
    ttl: int,
    local_ip: str = "",
) -> ProxyPlan | NotProxied:
    """Decide where the logged-in ``avatar`` goes; see the module docstring.

    A destination that is this machine itself (``local_ip``, the address the
    client reached us on, or one of ``[proxy] local_names``) is served here
    when it came from hashing or ``proxy_maybe``, as Dovecot's proxy_maybe
    does, so one node can be front end and backend at once.
    """
    fields: dict[str, str] = dict(getattr(avatar, "passdb_fields", {}) or {})
    user = str(getattr(avatar, "username", ""))
    try:
        dest = config.router.route(user, fields, protocol)
    except RouteError as e:
        return NotProxied(False, str(e))
    if dest is None:
        return NotProxied(True)
    maybe = dest.source == "hash" or ("proxy_maybe" in fields and "proxy" not in fields)
    if maybe and (dest.host in config.local_names or (local_ip and dest.host == local_ip)):
        return NotProxied(True)
    if ttl <= 0:
        return NotProxied(False, f"proxy TTL exhausted going to {dest}: proxying loops?")
    if (dest.host, dest.port) in config.own_addresses:
        return NotProxied(False, f"destination {dest} is this front end itself: proxying loops")
    if is_true(fields.get("nologin")) and "proxy" not in fields:
        return NotProxied(False, "nologin")
    master = getattr(avatar, "master_user", "") or ""
    if config.master_user:
        creds = BackendCredentials(
            dest.user, config.master_password, config.master_user, config.master_separator
        )
    elif "pass" in fields:
        # Dovecot's passdb "pass" field: the password to use on the backend.
        creds = BackendCredentials(dest.user, fields["pass"])
    elif password is not None:
        creds = BackendCredentials(dest.user, password, master, config.master_separator)
    else:
        return NotProxied(
            False,
            "the client's mechanism gives no password to log in to the backend with "
            "(set [proxy] master_user/master_password, or a passdb pass field)",
        )
    return ProxyPlan(dest, creds)


def _addr(address: Any) -> tuple[str, int] | None:
    host = getattr(address, "host", None)
    port = getattr(address, "port", None)
    if not isinstance(host, str) or not isinstance(port, int):
        return None
    return host, port


def start_proxy(
    config: FrontendConfig,
    plan: ProxyPlan,
    protocol: str,
    context: LoginContext,
    client_transport: Any,
    ttl: int,
    client_tls: bool = False,
) -> Deferred[Outcome]:
    """Connect to the planned backend and log in there as the user."""
    dest = plan.dest
    starttls = dest.security == "starttls"
    peer = _addr(client_transport.getPeer())
    local = _addr(client_transport.getHost())
    if peer is not None and context.remote_ip:
        peer = (context.remote_ip, peer[1])
    machine: Any
    if protocol == "imap":
        id_fields: list[tuple[str, str]] = [("x-session-id", context.session_id)]
        if peer is not None:
            id_fields += [("x-originating-ip", peer[0]), ("x-originating-port", str(peer[1]))]
        if local is not None:
            id_fields += [("x-connected-ip", local[0]), ("x-connected-port", str(local[1]))]
        id_fields.append(("x-proxy-ttl", str(ttl - 1)))
        machine = ImapBackendLogin(plan.creds, tuple(id_fields), starttls)
    else:
        machine = Pop3BackendLogin(plan.creds, starttls)
    header = b""
    send_header = config.send_proxy_protocol
    if dest.proxy_protocol is not None:
        send_header = dest.proxy_protocol
    if send_header:
        header = encode_v2(
            peer,
            local,
            unique_id=context.session_id[:128],
            ssl=client_tls,
            ttl=ttl - 1,
        )
    return connect_backend(
        config.reactor,
        dest,
        machine,
        header=header,
        connect_timeout_s=config.connect_timeout_s,
        login_timeout_s=config.login_timeout_s,
    )
