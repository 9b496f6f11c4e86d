"""LIST (with LIST-EXTENDED, LIST-STATUS, SPECIAL-USE), LSUB and XLIST.

RFC 3501 6.3.8/6.3.9, RFC 5258 (selection and return options, several
patterns), RFC 5819 (RETURN (STATUS ...)), RFC 6154 (SPECIAL-USE).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Final

from mailsuite.util.utf7 import MUTF7Error, decode_mutf7

from ..wire.reader import ParseError, Reader
from .base import AUTHED_OR_SELECTED, Command, State
from .mailbox import status_items

__all__ = ["List", "Lsub", "Xlist"]

SELECT_OPTIONS: Final = frozenset({"SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE"})
RETURN_OPTIONS: Final = frozenset({"SUBSCRIBED", "CHILDREN", "SPECIAL-USE", "STATUS"})
LIST_MAX_PATTERNS: Final = 64


@dataclass(frozen=True, slots=True)
class List(Command):
    """LIST [(select-opts)] reference pattern(s) [RETURN (return-opts)].

    ``extended`` is true when any RFC 5258 syntax was used (the answer then
    follows LIST-EXTENDED rules, e.g. CHILDINFO).
    """

    name: ClassVar[bytes] = b"LIST"
    allowed: ClassVar[frozenset[State]] = AUTHED_OR_SELECTED

    reference: str = ""
    patterns: tuple[str, ...] = ()
    select_options: frozenset[str] = frozenset()
    return_options: frozenset[str] = frozenset()
    status_items: tuple[str, ...] = ()
    extended: bool = False

    @classmethod
    def parse(cls, tag: bytes, r: Reader, *, uid: bool = False) -> List:
        r.sp()
        extended = False
        select: set[str] = set()
        if r.peek() == b"(":
            extended = True
            r.open_paren()
            while not r.close_paren():
                if select:
                    r.sp()
                opt = r.keyword("a LIST selection option")
                if opt not in SELECT_OPTIONS:
                    raise ParseError(f"Unknown LIST selection option {opt}")
                select.add(opt)
            # RFC 5258 3.1: RECURSIVEMATCH needs another option that it modifies.
            if select == {"RECURSIVEMATCH"} or select == {"RECURSIVEMATCH", "REMOTE"}:
                raise ParseError("RECURSIVEMATCH must be combined with another selection option")
            r.sp()
        reference = _reference(r)
        r.sp()
        patterns: list[str] = []
        if r.peek() == b"(":
            extended = True
            r.open_paren()
            while True:
                patterns.append(r.list_mailbox())
                if len(patterns) > LIST_MAX_PATTERNS:
                    raise ParseError(f"More than {LIST_MAX_PATTERNS} LIST patterns")
                if r.close_paren():
                    break
                r.sp()
        else:
            patterns.append(r.list_mailbox())
        returns: set[str] = set()
        status: tuple[str, ...] = ()
        if r.try_sp():
            extended = True
            if r.keyword("RETURN") != "RETURN":
                raise ParseError("Expected RETURN after the LIST patterns")
            r.sp()
            r.open_paren()
            while not r.close_paren():
                if returns:
                    r.sp()
                opt = r.keyword("a LIST return option")
                if opt not in RETURN_OPTIONS:
                    raise ParseError(f"Unknown LIST return option {opt}")
                if opt == "STATUS":
                    r.sp()
                    status = status_items(r)
                returns.add(opt)
        return cls(
            tag,
            reference,
            tuple(patterns),
            frozenset(select),
            frozenset(returns),
            status,
            extended,
        )


@dataclass(frozen=True, slots=True)
class Xlist(Command):
    """XLIST reference pattern: Gmail's pre-SPECIAL-USE LIST, kept for old clients."""

    name: ClassVar[bytes] = b"XLIST"
    allowed: ClassVar[frozenset[State]] = AUTHED_OR_SELECTED

    reference: str = ""
    pattern: str = ""

    @classmethod
    def parse(cls, tag: bytes, r: Reader, *, uid: bool = False) -> Xlist:
        r.sp()
        reference = _reference(r)
        r.sp()
        return cls(tag, reference, r.list_mailbox())


@dataclass(frozen=True, slots=True)
class Lsub(Xlist):
    """LSUB reference pattern (RFC 3501 6.3.9)."""

    name: ClassVar[bytes] = b"LSUB"


def _reference(r: Reader) -> str:
    """The reference name: a mailbox-like astring, not normalised (it is a prefix)."""
    raw = r.astring("a reference name")
    try:
        return decode_mutf7(raw.decode("ascii"))
    except (UnicodeDecodeError, MUTF7Error):
        raise ParseError("Reference name is not valid modified UTF-7") from None
