"""What every IMAP command object shares: the session states, the base class, BadCommand."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar, Final

from ..wire.reader import ParseError, Reader
from ..wire.responses import tagged

__all__ = [
    "ANY_STATE",
    "AUTHED_OR_SELECTED",
    "NOT_AUTHED",
    "SELECTED_ONLY",
    "BadCommand",
    "Command",
    "State",
]


class State(enum.Enum):
    """RFC 3501 section 3 connection states; the value reads well after "not allowed"."""

    NOT_AUTHENTICATED = "before login"
    AUTHENTICATED = "without a selected mailbox"
    SELECTED = "with a mailbox selected"
    LOGOUT = "after logout"


ANY_STATE: Final = frozenset({State.NOT_AUTHENTICATED, State.AUTHENTICATED, State.SELECTED})
NOT_AUTHED: Final = frozenset({State.NOT_AUTHENTICATED})
AUTHED_OR_SELECTED: Final = frozenset({State.AUTHENTICATED, State.SELECTED})
SELECTED_ONLY: Final = frozenset({State.SELECTED})


@dataclass(frozen=True, slots=True)
class Command:
    """A parsed command. Subclasses set ``name`` and ``allowed`` and implement ``parse``.

    ``parse`` is called with the reader just after the command name; it reads
    the arguments (each starting with its space) and must leave the reader at
    the end of the command (the registry checks).
    """

    name: ClassVar[bytes] = b""
    allowed: ClassVar[frozenset[State]] = ANY_STATE
    #: The command may run while other commands of the same connection are in
    #: flight only when it cannot change sequence numbers (RFC 3501 5.5).
    breaks_sequences: ClassVar[bool] = False

    tag: bytes

    @classmethod
    def parse(cls, tag: bytes, r: Reader, *, uid: bool = False) -> Command:
        """Read the arguments; the default takes none.

        Raises:
            ParseError: the arguments do not follow the command's grammar.
        """
        return cls(tag)


@dataclass(frozen=True, slots=True)
class BadCommand:
    """A command that could not be parsed, with the precise reason for the client.

    Args:
        tag: the command's tag, or ``b"*"`` when even the tag was unreadable.
        message: why the command was rejected (the response text).
        command: the command name when it was recognised.
        code: a response code to send with it (e.g. ``BADCHARSET (...)``).
        status: ``b"BAD"`` for syntax errors; ``b"NO"`` where an RFC demands NO.
    """

    tag: bytes
    message: str
    command: bytes = b""
    code: bytes | None = None
    status: bytes = b"BAD"

    @classmethod
    def from_error(cls, tag: bytes, command: bytes, error: ParseError) -> BadCommand:
        """Turn a :class:`ParseError` into the answer, prefixing the command's name."""
        prefix = f"Error in IMAP command {command.decode('ascii', 'replace')}: " if command else ""
        return cls(tag, prefix + error.message, command, error.code, error.status)

    def response(self) -> bytes:
        """The tagged (or ``* BAD``) line to send."""
        return tagged(self.tag, self.status, self.message, self.code)
