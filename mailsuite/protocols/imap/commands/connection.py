"""Connection-level commands: CAPABILITY, NOOP, LOGOUT, ID, STARTTLS, LOGIN, AUTHENTICATE,
ENABLE, COMPRESS, IDLE, NAMESPACE (RFC 3501 6.1-6.2, RFC 2971, RFC 5161, RFC 4978, RFC 2177,
RFC 2342, RFC 4959)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import ClassVar, Final

from ..wire.reader import ParseError, Reader
from .base import ANY_STATE, AUTHED_OR_SELECTED, NOT_AUTHED, Command, State

__all__ = [
    "Authenticate",
    "Capability",
    "Compress",
    "Enable",
    "Id",
    "Idle",
    "Login",
    "Logout",
    "Namespace",
    "Noop",
    "Starttls",
    "decode_sasl",
    "is_idle_done",
    "is_sasl_cancel",
]

ID_MAX_PAIRS: Final = 30  # RFC 2971 3.3: a client MUST NOT send more than 30 pairs
ID_MAX_FIELD_BYTES: Final = 30
ID_MAX_VALUE_BYTES: Final = 1024
ENABLE_MAX_ITEMS: Final = 32


@dataclass(frozen=True, slots=True)
class Capability(Command):
    """CAPABILITY (RFC 3501 6.1.1)."""

    name: ClassVar[bytes] = b"CAPABILITY"
    allowed: ClassVar[frozenset[State]] = ANY_STATE


@dataclass(frozen=True, slots=True)
class Noop(Command):
    """NOOP (RFC 3501 6.1.2): a chance to report mailbox changes."""

    name: ClassVar[bytes] = b"NOOP"
    allowed: ClassVar[frozenset[State]] = ANY_STATE


@dataclass(frozen=True, slots=True)
class Logout(Command):
    """LOGOUT (RFC 3501 6.1.3)."""

    name: ClassVar[bytes] = b"LOGOUT"
    allowed: ClassVar[frozenset[State]] = ANY_STATE


@dataclass(frozen=True, slots=True)
class Id(Command):
    """ID (RFC 2971): the client's identification, None for ``ID NIL``."""

    name: ClassVar[bytes] = b"ID"
    allowed: ClassVar[frozenset[State]] = ANY_STATE

    fields: tuple[tuple[str, str | None], ...] | None = None

    @classmethod
    def parse(cls, tag: bytes, r: Reader, *, uid: bool = False) -> Id:
        r.sp()
        if r.take(b"NIL"):
            return cls(tag, None)
        r.open_paren()
        pairs: list[tuple[str, str | None]] = []
        if r.close_paren():
            return cls(tag, ())
        while True:
            key = r.string()
            r.sp()
            value = r.nstring()
            if len(key) > ID_MAX_FIELD_BYTES:
                raise ParseError(f"ID field name longer than {ID_MAX_FIELD_BYTES} octets")
            if value is not None and len(value) > ID_MAX_VALUE_BYTES:
                raise ParseError(f"ID value longer than {ID_MAX_VALUE_BYTES} octets")
            pairs.append(
                (
                    key.decode("utf-8", "replace"),
                    None if value is None else value.decode("utf-8", "replace"),
                )
            )
            if len(pairs) > ID_MAX_PAIRS:
                raise ParseError(f"ID has more than {ID_MAX_PAIRS} field-value pairs")
            if r.close_paren():
                return cls(tag, tuple(pairs))
            r.sp()


@dataclass(frozen=True, slots=True)
class Starttls(Command):
    """STARTTLS (RFC 3501 6.2.1)."""

    name: ClassVar[bytes] = b"STARTTLS"
    allowed: ClassVar[frozenset[State]] = NOT_AUTHED


@dataclass(frozen=True, slots=True)
class Login(Command):
    """LOGIN user password (RFC 3501 6.2.3); the password never shows in repr or logs."""

    name: ClassVar[bytes] = b"LOGIN"
    allowed: ClassVar[frozenset[State]] = NOT_AUTHED

    user: str = ""
    password: bytes = field(default=b"", repr=False)

    @classmethod
    def parse(cls, tag: bytes, r: Reader, *, uid: bool = False) -> Login:
        r.sp()
        user = r.text_astring("a user name")
        r.sp()
        password = r.astring("a password")
        return cls(tag, user, password)


@dataclass(frozen=True, slots=True)
class Authenticate(Command):
    """AUTHENTICATE mechanism [initial-response] (RFC 3501 6.2.2, SASL-IR RFC 4959).

    ``initial_response`` is the decoded initial response: None when the client
    sent none, ``b""`` for ``=`` (an empty one, RFC 4959 section 3).
    """

    name: ClassVar[bytes] = b"AUTHENTICATE"
    allowed: ClassVar[frozenset[State]] = NOT_AUTHED

    mechanism: str = ""
    initial_response: bytes | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, tag: bytes, r: Reader, *, uid: bool = False) -> Authenticate:
        r.sp()
        mechanism = r.keyword("a SASL mechanism name")
        if not r.try_sp():
            return cls(tag, mechanism, None)
        raw = r.atom("a base64 initial response")
        return cls(tag, mechanism, decode_sasl(raw))


def is_sasl_cancel(line: bytes) -> bool:
    """Whether a SASL response line cancels the exchange (RFC 3501 6.2.2: a single "*")."""
    return line.strip(b" ") == b"*"


def decode_sasl(raw: bytes) -> bytes:
    """A base64 SASL response line (``=`` for empty, RFC 4959 3).

    Raises:
        ParseError: not valid base64.
    """
    if raw == b"=":
        return b""
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise ParseError("Invalid base64 in SASL response") from None


@dataclass(frozen=True, slots=True)
class Enable(Command):
    """ENABLE capability... (RFC 5161 3.1; only before a mailbox is selected)."""

    name: ClassVar[bytes] = b"ENABLE"
    allowed: ClassVar[frozenset[State]] = frozenset({State.AUTHENTICATED})

    capabilities: tuple[str, ...] = ()

    @classmethod
    def parse(cls, tag: bytes, r: Reader, *, uid: bool = False) -> Enable:
        caps: list[str] = []
        r.sp()
        while True:
            caps.append(r.keyword("a capability name"))
            if len(caps) > ENABLE_MAX_ITEMS:
                raise ParseError(f"ENABLE lists more than {ENABLE_MAX_ITEMS} capabilities")
            if not r.try_sp():
                return cls(tag, tuple(dict.fromkeys(caps)))


@dataclass(frozen=True, slots=True)
class Compress(Command):
    """COMPRESS mechanism (RFC 4978 3); only DEFLATE exists."""

    name: ClassVar[bytes] = b"COMPRESS"
    allowed: ClassVar[frozenset[State]] = AUTHED_OR_SELECTED

    mechanism: str = "DEFLATE"

    @classmethod
    def parse(cls, tag: bytes, r: Reader, *, uid: bool = False) -> Compress:
        r.sp()
        return cls(tag, r.keyword("a compression mechanism"))


@dataclass(frozen=True, slots=True)
class Idle(Command):
    """IDLE (RFC 2177); the session waits for a line ``DONE``."""

    name: ClassVar[bytes] = b"IDLE"
    allowed: ClassVar[frozenset[State]] = AUTHED_OR_SELECTED


@dataclass(frozen=True, slots=True)
class Namespace(Command):
    """NAMESPACE (RFC 2342)."""

    name: ClassVar[bytes] = b"NAMESPACE"
    allowed: ClassVar[frozenset[State]] = AUTHED_OR_SELECTED


def is_idle_done(line: bytes) -> bool:
    """Whether a line ends IDLE (RFC 2177 3: "DONE", any case)."""
    return line.strip(b" ").upper() == b"DONE"
