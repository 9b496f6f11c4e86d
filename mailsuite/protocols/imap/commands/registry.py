"""The command registry and the one entry point: framed bytes in, a command object out.

The registry is an explicit table (STYLE.md habit 2): a command exists only
when it is listed here, so a typo cannot silently become a no-op.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from ..wire.framer import LiteralSink
from ..wire.reader import ParseError, Reader
from .base import BadCommand, Command
from .connection import (
    Authenticate,
    Capability,
    Compress,
    Enable,
    Id,
    Idle,
    Login,
    Logout,
    Namespace,
    Noop,
    Starttls,
)
from .fetch import Fetch
from .listing import List, Lsub, Xlist
from .mailbox import (
    Append,
    Create,
    Delete,
    Examine,
    GetQuota,
    GetQuotaRoot,
    Rename,
    Select,
    SetQuota,
    Status,
    Subscribe,
    Unsubscribe,
)
from .message import Check, Close, Copy, Expunge, Move, Store, UidExpunge, Unselect
from .search import Search, Sort, Thread

__all__ = ["GENERIC_BAD", "REGISTRY", "UID_REGISTRY", "parse_command"]

REGISTRY: Final[Mapping[bytes, type[Command]]] = MappingProxyType(
    {
        c.name: c
        for c in (
            Capability,
            Noop,
            Logout,
            Id,
            Starttls,
            Login,
            Authenticate,
            Enable,
            Compress,
            Idle,
            Namespace,
            Select,
            Examine,
            Create,
            Delete,
            Rename,
            Subscribe,
            Unsubscribe,
            List,
            Lsub,
            Xlist,
            Status,
            Append,
            GetQuota,
            GetQuotaRoot,
            SetQuota,
            Check,
            Close,
            Unselect,
            Expunge,
            Search,
            Sort,
            Thread,
            Fetch,
            Store,
            Copy,
            Move,
        )
    }
)

# RFC 3501 6.4.8 (plus UID EXPUNGE, RFC 4315; UID MOVE, RFC 6851; UID SORT/THREAD, RFC 5256).
UID_REGISTRY: Final[Mapping[bytes, type[Command]]] = MappingProxyType(
    {
        b"FETCH": Fetch,
        b"STORE": Store,
        b"COPY": Copy,
        b"MOVE": Move,
        b"SEARCH": Search,
        b"SORT": Sort,
        b"THREAD": Thread,
        b"EXPUNGE": UidExpunge,
    }
)

GENERIC_BAD: Final = "Invalid arguments"
_NAME: Final = re.compile(rb"[A-Za-z0-9\-.]{1,32}")


def parse_command(
    data: bytes, spooled: Mapping[int, LiteralSink] | None = None
) -> Command | BadCommand | None:
    """Parse one framed command (from :class:`~..wire.framer.Framer`).

    Never raises: anything a client sends yields a command or a
    :class:`BadCommand` saying precisely what is wrong. ``spooled`` is the
    framer's ``CommandBytes.spooled`` (large APPEND messages kept on disk).

    Returns:
        The command; a BadCommand to answer (BAD, or NO where an RFC says so);
        None for an empty line, which is ignored.
    """
    if not data.strip(b" "):
        return None
    tag = b"*"
    name = b""
    try:
        r = Reader(data, 0, spooled)
        try:
            tag = r.tag()
        except ParseError:
            return BadCommand(b"*", "Invalid tag")
        if r.pos < len(data) and r.peek() != b" ":
            return BadCommand(tag, "Expected a space after the tag")
        if not r.take(b" ") or r.at_end():
            return BadCommand(tag, "Missing command name")
        raw = r.match(_NAME)
        if raw is None or r.peek() not in (b"", b" "):
            return BadCommand(tag, "Invalid command name")
        name = raw.upper()
        registry = REGISTRY
        uid = False
        if name == b"UID":
            r.sp()
            sub = r.match(_NAME)
            if sub is None or r.peek() not in (b"", b" "):
                return BadCommand(tag, "Invalid command name after UID", b"UID")
            name = b"UID " + sub.upper()
            registry = UID_REGISTRY
            uid = True
            cls = registry.get(sub.upper())
        else:
            cls = registry.get(name)
        if cls is None:
            return BadCommand(tag, f"Unknown command {name.decode('ascii')}", name)
        command = cls.parse(tag, r, uid=uid)
        r.end()
        return command
    except ParseError as e:
        return BadCommand.from_error(tag, name, e)
    except Exception:  # noqa: BLE001 - the promise is that client input never raises
        # A last guard: the grammar code should have said why already (the fuzz
        # tests check that this text never appears), but a client must never
        # be able to break the session with a parser bug.
        return BadCommand(tag, GENERIC_BAD, name)
