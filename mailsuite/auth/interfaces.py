"""What the protocols need from authentication.

Protocols (IMAP LOGIN/AUTHENTICATE, POP3 USER/PASS/AUTH, the login front end,
LMTP recipient lookup) talk to one :class:`AuthService`; behind it sit the
twisted.cred Portal, the passdb chain (an ICredentialsChecker, with the auth
cache and failure penalties) and the userdb chain (the realm).

Protocols never see passwords after handing them over, never build error
texts that reveal whether a user exists, and never implement SASL themselves:
they move base64 between the wire and a :class:`SaslExchange`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from zope.interface import Attribute, Interface

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred

    from mailsuite.store.api import MailStore

__all__ = [
    "AuthFailure",
    "AuthService",
    "AuthSuccess",
    "IMailUser",
    "LoginContext",
    "SaslChallenge",
    "SaslExchange",
    "UserRecord",
]


@dataclass(frozen=True)
class LoginContext:
    """Where a login attempt comes from; passed to every auth call for policy and logs."""

    service: str  # "imap", "pop3", "lmtp", "login"
    remote_ip: str
    local_ip: str = ""
    secured: bool = False  # TLS in place (or a trusted/loopback connection)
    session_id: str = ""
    client_cert_subject: str = ""  # verified TLS client certificate, for SASL EXTERNAL


@dataclass(frozen=True)
class UserRecord:
    """What the userdb says about a user: where the mail lives and its limits."""

    username: str
    home: str = ""
    mail: str = ""  # the Maildir++ root, after %-expansion
    uid: int | None = None
    gid: int | None = None
    quota_storage_bytes: int = 0  # 0: no limit
    quota_messages: int = 0
    fields: dict[str, str] = field(default_factory=dict)  # every extra field as given


class IMailUser(Interface):
    """The avatar every mail protocol receives from the portal."""

    username = Attribute("The canonical user name (str)")
    record = Attribute("The UserRecord from the userdb")
    passdb_fields = Attribute("Extra fields the passdb returned (dict[str, str]): proxy, host")

    def open_store() -> MailStore:
        """The user's MailStore (blocking: call through the thread pool)."""


@dataclass(frozen=True)
class AuthSuccess:
    user: object  # provides IMailUser
    logout: object  # callable: call once when the session ends


@dataclass(frozen=True)
class AuthFailure:
    """A failed login; ``code`` is the protocol-neutral reason, ``message`` client-safe text."""

    # "authfailed" | "unavailable" (temporary) | "nologin" | "limit" | "privacy" | "expired"
    code: str
    message: str = "Authentication failed."


@dataclass(frozen=True)
class SaslChallenge:
    data: bytes  # raw; the protocol base64-encodes it


class SaslExchange(Protocol):
    """One SASL conversation. ``step`` is called with each decoded client response.

    The first call carries the initial response (SASL-IR) or ``None`` when the
    client sent none. The exchange ends with AuthSuccess or AuthFailure; a
    client's "*" cancel is reported with ``cancel()``.
    """

    def step(
        self, response: bytes | None
    ) -> Deferred[SaslChallenge | AuthSuccess | AuthFailure]: ...

    def cancel(self) -> None: ...


class AuthService(Protocol):
    def mechanisms(self, context: LoginContext) -> list[str]:
        """SASL mechanisms to advertise on this connection (no plaintext ones when refused)."""
        ...

    def plaintext_allowed(self, context: LoginContext) -> bool:
        """Whether LOGIN / USER+PASS / AUTH PLAIN may be used on this connection."""
        ...

    def login(
        self, username: str, password: str, context: LoginContext
    ) -> Deferred[AuthSuccess | AuthFailure]:
        """Check a plaintext password (IMAP LOGIN, POP3 USER/PASS); penalties applied."""
        ...

    def sasl(self, mechanism: str, context: LoginContext) -> SaslExchange | None:
        """Start a SASL exchange, or None when the mechanism is unknown or not allowed here."""
        ...

    def lookup(self, username: str, context: LoginContext) -> Deferred[UserRecord | None]:
        """userdb lookup without a password (LMTP RCPT); None when the user does not exist."""
        ...

    def open_store(self, record: UserRecord) -> MailStore:
        """The MailStore for a looked-up user (blocking: call through the thread pool)."""
        ...
