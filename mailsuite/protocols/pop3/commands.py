"""POP3 commands as typed objects, parsed from one line without I/O.

Each command is a frozen dataclass that states the session states it is valid
in; :func:`parse` turns a line into a command or a :class:`BadCommand` that
says precisely what was wrong, so the ``-ERR`` text helps the client's author.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar, Final

from mailsuite import limits

__all__ = [
    "Auth",
    "BadCommand",
    "Capa",
    "Command",
    "Dele",
    "List",
    "Noop",
    "Pass",
    "Quit",
    "REGISTRY",
    "Retr",
    "Rset",
    "Stat",
    "State",
    "Stls",
    "Top",
    "Uidl",
    "User",
    "parse",
]


class State(enum.Enum):
    """RFC 1939 section 3 session states."""

    AUTHORIZATION = "AUTHORIZATION"
    TRANSACTION = "TRANSACTION"
    UPDATE = "UPDATE"


AUTHORIZATION: Final = frozenset({State.AUTHORIZATION})
TRANSACTION: Final = frozenset({State.TRANSACTION})
ANY: Final = frozenset({State.AUTHORIZATION, State.TRANSACTION})

# RFC 1939 section 3: message numbers are decimal; ten digits hold any real count.
_MAX_NUMBER_DIGITS: Final = 10


class Command:
    """Base of every command; subclasses are frozen dataclasses."""

    name: ClassVar[str]
    allowed: ClassVar[frozenset[State]]


@dataclass(frozen=True, slots=True)
class BadCommand:
    """A line that is not a valid command; ``reason`` is the ``-ERR`` text."""

    reason: str
    name: str = ""  # the verb, when it was recognised


@dataclass(frozen=True, slots=True)
class User(Command):
    name: ClassVar[str] = "USER"
    allowed: ClassVar[frozenset[State]] = AUTHORIZATION
    username: str


@dataclass(frozen=True, slots=True)
class Pass(Command):
    name: ClassVar[str] = "PASS"
    allowed: ClassVar[frozenset[State]] = AUTHORIZATION
    password: str

    def __repr__(self) -> str:
        return "Pass(password=<hidden>)"


@dataclass(frozen=True, slots=True)
class Auth(Command):
    """AUTH [mechanism [initial-response]] (RFC 5034); no mechanism lists them."""

    name: ClassVar[str] = "AUTH"
    allowed: ClassVar[frozenset[State]] = AUTHORIZATION
    mechanism: str | None = None
    initial: bytes | None = None  # base64 as sent, "=" for an empty response

    def __repr__(self) -> str:
        return f"Auth(mechanism={self.mechanism!r}, initial=<hidden>)"


@dataclass(frozen=True, slots=True)
class Capa(Command):
    name: ClassVar[str] = "CAPA"
    allowed: ClassVar[frozenset[State]] = ANY


@dataclass(frozen=True, slots=True)
class Stls(Command):
    name: ClassVar[str] = "STLS"
    allowed: ClassVar[frozenset[State]] = AUTHORIZATION


@dataclass(frozen=True, slots=True)
class Stat(Command):
    name: ClassVar[str] = "STAT"
    allowed: ClassVar[frozenset[State]] = TRANSACTION


@dataclass(frozen=True, slots=True)
class List(Command):
    name: ClassVar[str] = "LIST"
    allowed: ClassVar[frozenset[State]] = TRANSACTION
    msg: int | None = None


@dataclass(frozen=True, slots=True)
class Uidl(Command):
    name: ClassVar[str] = "UIDL"
    allowed: ClassVar[frozenset[State]] = TRANSACTION
    msg: int | None = None


@dataclass(frozen=True, slots=True)
class Retr(Command):
    name: ClassVar[str] = "RETR"
    allowed: ClassVar[frozenset[State]] = TRANSACTION
    msg: int


@dataclass(frozen=True, slots=True)
class Top(Command):
    name: ClassVar[str] = "TOP"
    allowed: ClassVar[frozenset[State]] = TRANSACTION
    msg: int
    lines: int


@dataclass(frozen=True, slots=True)
class Dele(Command):
    name: ClassVar[str] = "DELE"
    allowed: ClassVar[frozenset[State]] = TRANSACTION
    msg: int


@dataclass(frozen=True, slots=True)
class Rset(Command):
    name: ClassVar[str] = "RSET"
    allowed: ClassVar[frozenset[State]] = TRANSACTION


@dataclass(frozen=True, slots=True)
class Noop(Command):
    name: ClassVar[str] = "NOOP"
    allowed: ClassVar[frozenset[State]] = TRANSACTION


@dataclass(frozen=True, slots=True)
class Quit(Command):
    name: ClassVar[str] = "QUIT"
    allowed: ClassVar[frozenset[State]] = ANY


REGISTRY: Final[dict[str, type[Command]]] = {
    c.name: c
    for c in (User, Pass, Auth, Capa, Stls, Stat, List, Uidl, Retr, Top, Dele, Rset, Noop, Quit)
}


def _number(text: str, what: str) -> int | str:
    """A decimal number, or the reason it is not one."""
    if not text.isascii() or not text.isdigit() or len(text) > _MAX_NUMBER_DIGITS:
        return f"Invalid {what}: {text[:32]}"
    return int(text)


def _msg_number(text: str) -> int | str:
    n = _number(text, "message number")
    if isinstance(n, int) and n < 1:
        return f"Invalid message number: {text}"
    return n


def parse(line: bytes) -> Command | BadCommand:
    """Parse one command line (without its CRLF).

    Arguments are separated by single spaces (RFC 1939 section 3); we also
    accept runs of spaces, except in PASS, whose argument is the rest of the
    line because passwords may contain spaces (RFC 1939 section 7, PASS).
    """
    # RFC 5034 section 4: an AUTH initial response (an OAuth token, a
    # Kerberos ticket) may be far longer than a command; the line buffer's
    # SASL limit bounds it instead.
    if len(line) > limits.POP3_MAX_LINE_BYTES and line[:5].upper() != b"AUTH ":
        return BadCommand(f"Line too long (limit {limits.POP3_MAX_LINE_BYTES} bytes)")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return BadCommand("Invalid characters in command (not UTF-8)")
    if any(c in text for c in "\0\r\n"):
        return BadCommand("Invalid characters in command (NUL or CR)")
    verb, _, rest = text.partition(" ")
    verb = verb.upper()
    if not verb:
        return BadCommand("Empty command")
    cls = REGISTRY.get(verb)
    if cls is None:
        shown = verb if verb.isascii() and verb.isprintable() and len(verb) <= 16 else "?"
        return BadCommand(f"Unknown command: {shown}")
    if cls is Pass:
        if not rest:
            return BadCommand("PASS needs a password", verb)
        return Pass(rest)
    args = rest.split()
    if cls is User:
        if len(args) != 1:
            return BadCommand("USER needs exactly one user name", verb)
        return User(args[0])
    if cls is Auth:
        if len(args) > 2:
            return BadCommand("AUTH takes a mechanism and an optional initial response", verb)
        mech = args[0].upper() if args else None
        initial = args[1].encode("ascii", "replace") if len(args) == 2 else None
        return Auth(mech, initial)
    if cls in (List, Uidl):
        if len(args) > 1:
            return BadCommand(f"{verb} takes at most one message number", verb)
        if not args:
            return cls()
        n = _msg_number(args[0])
        return BadCommand(n, verb) if isinstance(n, str) else cls(n)
    if cls in (Retr, Dele):
        if len(args) != 1:
            return BadCommand(f"{verb} needs one message number", verb)
        n = _msg_number(args[0])
        return BadCommand(n, verb) if isinstance(n, str) else cls(n)
    if cls is Top:
        if len(args) != 2:
            return BadCommand("TOP needs a message number and a line count", verb)
        n = _msg_number(args[0])
        if isinstance(n, str):
            return BadCommand(n, verb)
        count = _number(args[1], "line count")
        if isinstance(count, str):
            return BadCommand(count, verb)
        return Top(n, count)
    if args:
        return BadCommand(f"{verb} takes no arguments", verb)
    return cls()
