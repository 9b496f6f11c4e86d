"""Selected-state commands on messages: CHECK, CLOSE, UNSELECT, EXPUNGE, UID EXPUNGE, STORE,
COPY, MOVE (RFC 3501 6.4, RFC 3691, RFC 4315 2.1, RFC 6851, RFC 7162 3.1.3)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar

from ..wire.reader import MODSEQ_MAX, ParseError, Reader
from ..wire.seqset import SequenceSet
from .base import SELECTED_ONLY, Command, State

__all__ = [
    "Check",
    "Close",
    "Copy",
    "Expunge",
    "Move",
    "Store",
    "StoreMode",
    "UidExpunge",
    "Unselect",
]


@dataclass(frozen=True, slots=True)
class Check(Command):
    """CHECK (RFC 3501 6.4.1)."""

    name: ClassVar[bytes] = b"CHECK"
    allowed: ClassVar[frozenset[State]] = SELECTED_ONLY


@dataclass(frozen=True, slots=True)
class Close(Command):
    """CLOSE (RFC 3501 6.4.2): silently expunge (unless read-only) and deselect."""

    name: ClassVar[bytes] = b"CLOSE"
    allowed: ClassVar[frozenset[State]] = SELECTED_ONLY
    breaks_sequences: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class Unselect(Command):
    """UNSELECT (RFC 3691): deselect without expunging."""

    name: ClassVar[bytes] = b"UNSELECT"
    allowed: ClassVar[frozenset[State]] = SELECTED_ONLY
    breaks_sequences: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class Expunge(Command):
    """EXPUNGE (RFC 3501 6.4.3)."""

    name: ClassVar[bytes] = b"EXPUNGE"
    allowed: ClassVar[frozenset[State]] = SELECTED_ONLY
    breaks_sequences: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class UidExpunge(Command):
    """UID EXPUNGE uid-set (RFC 4315 2.1): expunge only these \\Deleted messages."""

    name: ClassVar[bytes] = b"UID EXPUNGE"
    allowed: ClassVar[frozenset[State]] = SELECTED_ONLY
    breaks_sequences: ClassVar[bool] = True

    sequence: SequenceSet = SequenceSet()

    @classmethod
    def parse(cls, tag: bytes, r: Reader, *, uid: bool = True) -> UidExpunge:
        r.sp()
        return cls(tag, r.seq_set())


class StoreMode(enum.Enum):
    """How STORE changes flags (RFC 3501 6.4.6)."""

    REPLACE = "FLAGS"
    ADD = "+FLAGS"
    REMOVE = "-FLAGS"


@dataclass(frozen=True, slots=True)
class Store(Command):
    """[UID] STORE set [(UNCHANGEDSINCE n)] [+|-]FLAGS[.SILENT] flags."""

    name: ClassVar[bytes] = b"STORE"
    allowed: ClassVar[frozenset[State]] = SELECTED_ONLY

    sequence: SequenceSet = SequenceSet()
    mode: StoreMode = StoreMode.REPLACE
    flags: tuple[str, ...] = ()
    silent: bool = False
    uid: bool = False
    unchanged_since: int | None = None

    @classmethod
    def parse(cls, tag: bytes, r: Reader, *, uid: bool = False) -> Store:
        r.sp()
        sequence = r.seq_set()
        r.sp()
        unchanged_since: int | None = None
        if r.peek() == b"(":
            r.open_paren()
            while True:
                mod = r.keyword("a STORE modifier")
                if mod != "UNCHANGEDSINCE":
                    raise ParseError(f"Unknown STORE modifier {mod}")
                r.sp()
                unchanged_since = r.number(maximum=MODSEQ_MAX, what="a mod-sequence")
                if r.close_paren():
                    break
                r.sp()
            r.sp()
        mode = StoreMode.REPLACE
        if r.take(b"+"):
            mode = StoreMode.ADD
        elif r.take(b"-"):
            mode = StoreMode.REMOVE
        item = r.keyword("FLAGS, +FLAGS or -FLAGS")
        if item not in ("FLAGS", "FLAGS.SILENT"):
            raise ParseError(f"Unknown STORE item {item} (expected [+|-]FLAGS[.SILENT])")
        silent = item == "FLAGS.SILENT"
        r.sp()
        if r.peek() == b"(":
            flags = r.flag_list()
        else:
            # RFC 3501 store-att-flags: flags may also come without parentheses.
            found = [r.flag()]
            while r.try_sp():
                found.append(r.flag())
            flags = tuple(dict.fromkeys(found))
        return cls(tag, sequence, mode, flags, silent, uid, unchanged_since)


@dataclass(frozen=True, slots=True)
class Copy(Command):
    """[UID] COPY set mailbox (RFC 3501 6.4.7)."""

    name: ClassVar[bytes] = b"COPY"
    allowed: ClassVar[frozenset[State]] = SELECTED_ONLY

    sequence: SequenceSet = SequenceSet()
    mailbox: str = ""
    uid: bool = False

    @classmethod
    def parse(cls, tag: bytes, r: Reader, *, uid: bool = False) -> Copy:
        r.sp()
        sequence = r.seq_set()
        r.sp()
        return cls(tag, sequence, r.mailbox(), uid)


@dataclass(frozen=True, slots=True)
class Move(Copy):
    """[UID] MOVE set mailbox (RFC 6851)."""

    name: ClassVar[bytes] = b"MOVE"
    breaks_sequences: ClassVar[bool] = True
