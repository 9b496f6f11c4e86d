"""SEARCH, SORT and THREAD, and the search-key tree they share.

RFC 3501 6.4.4 (every key), RFC 4731 (ESEARCH RETURN options), RFC 5182
(SEARCHRES: SAVE and ``$``), RFC 7162 3.1.5 (MODSEQ), RFC 5032 (OLDER,
YOUNGER), RFC 5256 (SORT, THREAD).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import ClassVar, Final

from ..wire.reader import MODSEQ_MAX, ParseError, Reader
from ..wire.responses import code_badcharset
from ..wire.seqset import SequenceSet
from .base import SELECTED_ONLY, Command, State

__all__ = [
    "CHARSETS",
    "AllKey",
    "AndKey",
    "DateKey",
    "FlagKey",
    "HeaderKey",
    "ModseqKey",
    "NotKey",
    "OrKey",
    "Search",
    "SearchKey",
    "SetKey",
    "SizeKey",
    "Sort",
    "TextKey",
    "Thread",
    "WithinKey",
    "parse_search_keys",
]

CHARSETS: Final = ("UTF-8", "US-ASCII")
RETURN_OPTIONS: Final = frozenset({"MIN", "MAX", "ALL", "COUNT", "SAVE"})
SORT_KEYS: Final = frozenset(
    {"ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO", "DISPLAYFROM", "DISPLAYTO"}
)
THREAD_ALGORITHMS: Final = frozenset({"ORDEREDSUBJECT", "REFERENCES"})
SEARCH_MAX_DEPTH: Final = 200  # NOT/OR/() nesting; clients build long OR chains
SEARCH_MAX_KEYS: Final = 10_000

_FLAG_KEYS: Final = {
    "ANSWERED": ("\\Answered", True),
    "DELETED": ("\\Deleted", True),
    "DRAFT": ("\\Draft", True),
    "FLAGGED": ("\\Flagged", True),
    "RECENT": ("\\Recent", True),
    "SEEN": ("\\Seen", True),
    "UNANSWERED": ("\\Answered", False),
    "UNDELETED": ("\\Deleted", False),
    "UNDRAFT": ("\\Draft", False),
    "UNFLAGGED": ("\\Flagged", False),
    "UNSEEN": ("\\Seen", False),
    "OLD": ("\\Recent", False),
}
_HEADER_KEYS: Final = {"BCC": "Bcc", "CC": "Cc", "FROM": "From", "SUBJECT": "Subject", "TO": "To"}
_DATE_KEYS: Final = {
    "BEFORE": ("BEFORE", False),
    "ON": ("ON", False),
    "SINCE": ("SINCE", False),
    "SENTBEFORE": ("BEFORE", True),
    "SENTON": ("ON", True),
    "SENTSINCE": ("SINCE", True),
}


class SearchKey:
    """Base of the search-key tree (every node is a frozen dataclass)."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class AllKey(SearchKey):
    """ALL."""


@dataclass(frozen=True, slots=True)
class FlagKey(SearchKey):
    """A flag or keyword present (``present``) or absent; \\Recent included."""

    flag: str
    present: bool = True


@dataclass(frozen=True, slots=True)
class HeaderKey(SearchKey):
    """A header field contains ``value`` (FROM, TO, CC, BCC, SUBJECT, HEADER); empty matches all
    messages that have the field (RFC 3501 6.4.4 HEADER)."""

    field: str
    value: str


@dataclass(frozen=True, slots=True)
class TextKey(SearchKey):
    """BODY (``where`` "BODY") or TEXT (header and body) contains ``value``."""

    where: str
    value: str


@dataclass(frozen=True, slots=True)
class DateKey(SearchKey):
    """BEFORE/ON/SINCE on the internal date, or on the Date: header when ``sent``."""

    which: str
    date: datetime.date
    sent: bool = False


@dataclass(frozen=True, slots=True)
class SizeKey(SearchKey):
    """LARGER (``larger``) or SMALLER than ``size`` octets (RFC822.SIZE)."""

    larger: bool
    size: int


@dataclass(frozen=True, slots=True)
class SetKey(SearchKey):
    """Sequence numbers, or UIDs when ``uid``; ``$`` (saved result) when ``sequence.saved``."""

    sequence: SequenceSet
    uid: bool = False


@dataclass(frozen=True, slots=True)
class ModseqKey(SearchKey):
    """MODSEQ [entry type] n: messages with MODSEQ >= n (RFC 7162 3.1.5)."""

    modseq: int
    entry: str | None = None
    entry_type: str | None = None


@dataclass(frozen=True, slots=True)
class WithinKey(SearchKey):
    """OLDER/YOUNGER n seconds (RFC 5032), on the internal date."""

    older: bool
    seconds: int


@dataclass(frozen=True, slots=True)
class NotKey(SearchKey):
    """NOT key."""

    key: SearchKey


@dataclass(frozen=True, slots=True)
class OrKey(SearchKey):
    """OR left right."""

    left: SearchKey
    right: SearchKey


@dataclass(frozen=True, slots=True)
class AndKey(SearchKey):
    """Every key must match (the top level and parentheses)."""

    keys: tuple[SearchKey, ...]


@dataclass(frozen=True, slots=True)
class Search(Command):
    """[UID] SEARCH [RETURN (...)] [CHARSET c] keys.

    ``returns`` is None for a classic SEARCH (untagged SEARCH response) and
    the set of RETURN options for ESEARCH (``RETURN ()`` means ALL).
    """

    name: ClassVar[bytes] = b"SEARCH"
    allowed: ClassVar[frozenset[State]] = SELECTED_ONLY

    key: SearchKey = AllKey()
    uid: bool = False
    charset: str | None = None
    returns: frozenset[str] | None = None

    @classmethod
    def parse(cls, tag: bytes, r: Reader, *, uid: bool = False) -> Search:
        r.sp()
        returns: frozenset[str] | None = None
        if r.take(b"RETURN "):
            returns = _return_options(r)
            r.sp()
        charset = _charset(r, required=False)
        key = parse_search_keys(r)
        return cls(tag, key, uid, charset, returns)


@dataclass(frozen=True, slots=True)
class Sort(Command):
    """[UID] SORT (criteria) charset keys (RFC 5256 3); criteria are (key, reverse)."""

    name: ClassVar[bytes] = b"SORT"
    allowed: ClassVar[frozenset[State]] = SELECTED_ONLY

    criteria: tuple[tuple[str, bool], ...] = ()
    key: SearchKey = AllKey()
    uid: bool = False
    charset: str = "UTF-8"

    @classmethod
    def parse(cls, tag: bytes, r: Reader, *, uid: bool = False) -> Sort:
        r.sp()
        r.open_paren()
        criteria: list[tuple[str, bool]] = []
        while True:
            word = r.keyword("a sort key")
            reverse = word == "REVERSE"
            if reverse:
                r.sp()
                word = r.keyword("a sort key")
            if word not in SORT_KEYS:
                raise ParseError(f"Unknown sort key {word}")
            criteria.append((word, reverse))
            if r.close_paren():
                break
            r.sp()
        r.sp()
        charset = _charset(r, required=True) or "UTF-8"
        return cls(tag, tuple(criteria), parse_search_keys(r), uid, charset)


@dataclass(frozen=True, slots=True)
class Thread(Command):
    """[UID] THREAD algorithm charset keys (RFC 5256 3)."""

    name: ClassVar[bytes] = b"THREAD"
    allowed: ClassVar[frozenset[State]] = SELECTED_ONLY

    algorithm: str = "REFERENCES"
    key: SearchKey = AllKey()
    uid: bool = False
    charset: str = "UTF-8"

    @classmethod
    def parse(cls, tag: bytes, r: Reader, *, uid: bool = False) -> Thread:
        r.sp()
        algorithm = r.keyword("a threading algorithm")
        if algorithm not in THREAD_ALGORITHMS:
            raise ParseError(f"Unknown threading algorithm {algorithm}")
        r.sp()
        charset = _charset(r, required=True) or "UTF-8"
        return cls(tag, algorithm, parse_search_keys(r), uid, charset)


def _return_options(r: Reader) -> frozenset[str]:
    r.open_paren()
    opts: set[str] = set()
    while not r.close_paren():
        if opts:
            r.sp()
        opt = r.keyword("a SEARCH return option")
        if opt not in RETURN_OPTIONS:
            raise ParseError(f"Unknown SEARCH return option {opt}")
        opts.add(opt)
    # RFC 4731 3.1: an empty list is the same as RETURN (ALL).
    return frozenset(opts) if opts else frozenset({"ALL"})


def _charset(r: Reader, *, required: bool) -> str | None:
    """``CHARSET name SP`` for SEARCH (optional) or the bare charset of SORT/THREAD."""
    if not required:
        if not r.take(b"CHARSET "):
            return None
    name = r.astring("a charset name").decode("ascii", "replace").upper()
    if name not in CHARSETS:
        # RFC 3501 6.4.4: an unsupported charset is NO [BADCHARSET (...)], not BAD.
        raise ParseError(
            f"Unsupported charset {name}", code=code_badcharset(CHARSETS), status=b"NO"
        )
    r.sp()
    return name


def parse_search_keys(r: Reader) -> SearchKey:
    """``1*(search-key)`` separated by spaces up to the end of the command, as one AND.

    Raises:
        ParseError: a key is unknown or its argument malformed.
    """
    counter = [0]
    keys = [_key(r, 0, counter)]
    while r.try_sp():
        keys.append(_key(r, 0, counter))
    r.end()
    return keys[0] if len(keys) == 1 else AndKey(tuple(keys))


def _text(r: Reader) -> str:
    # Strings are UTF-8 (US-ASCII is a subset); invalid octets cannot match anything.
    return r.astring("a search string").decode("utf-8", "replace")


def _key(r: Reader, depth: int, counter: list[int]) -> SearchKey:
    if depth > SEARCH_MAX_DEPTH:
        raise ParseError(f"Search keys nested deeper than {SEARCH_MAX_DEPTH}")
    counter[0] += 1
    if counter[0] > SEARCH_MAX_KEYS:
        raise ParseError(f"More than {SEARCH_MAX_KEYS} search keys")
    c = r.peek()
    if c == b"(":
        r.expect(b"(")
        keys = [_key(r, depth + 1, counter)]
        while not r.take(b")"):
            r.sp()
            keys.append(_key(r, depth + 1, counter))
        return keys[0] if len(keys) == 1 else AndKey(tuple(keys))
    if c == b"$" or c == b"*" or c.isdigit():
        return SetKey(r.seq_set())
    word = r.keyword("a search key")
    if word == "ALL":
        return AllKey()
    if word in _FLAG_KEYS:
        flag, present = _FLAG_KEYS[word]
        return FlagKey(flag, present)
    if word == "NEW":
        # RFC 3501 6.4.4: NEW is RECENT UNSEEN.
        return AndKey((FlagKey("\\Recent"), FlagKey("\\Seen", False)))
    if word in ("KEYWORD", "UNKEYWORD"):
        r.sp()
        return FlagKey(r.flag(), word == "KEYWORD")
    if word in _HEADER_KEYS:
        r.sp()
        return HeaderKey(_HEADER_KEYS[word], _text(r))
    if word == "HEADER":
        r.sp()
        field = r.astring("a header field name").decode("ascii", "replace")
        r.sp()
        return HeaderKey(field, _text(r))
    if word in ("BODY", "TEXT"):
        r.sp()
        return TextKey(word, _text(r))
    if word in _DATE_KEYS:
        which, sent = _DATE_KEYS[word]
        r.sp()
        return DateKey(which, r.date(), sent)
    if word in ("LARGER", "SMALLER"):
        r.sp()
        return SizeKey(word == "LARGER", r.number(maximum=MODSEQ_MAX, what="a size"))
    if word in ("OLDER", "YOUNGER"):
        r.sp()
        return WithinKey(word == "OLDER", r.nz_number(what="a number of seconds"))
    if word == "UID":
        r.sp()
        return SetKey(r.seq_set(), uid=True)
    if word == "NOT":
        r.sp()
        return NotKey(_key(r, depth + 1, counter))
    if word == "OR":
        r.sp()
        left = _key(r, depth + 1, counter)
        r.sp()
        return OrKey(left, _key(r, depth + 1, counter))
    if word == "MODSEQ":
        return _modseq(r)
    raise ParseError(f"Unknown search key {word}")


def _modseq(r: Reader) -> ModseqKey:
    """``MODSEQ [SP entry-name SP entry-type-req] SP mod-sequence-valzer`` (RFC 7162 3.1.5)."""
    r.sp()
    entry: str | None = None
    entry_type: str | None = None
    if r.peek() == b'"':
        entry = r.quoted().decode("ascii", "replace")
        if not entry.lower().startswith("/flags/"):
            raise ParseError('MODSEQ entry name must be "/flags/<flag>"')
        r.sp()
        entry_type = r.keyword("priv, shared or all").lower()
        if entry_type not in ("priv", "shared", "all"):
            raise ParseError("MODSEQ entry type must be priv, shared or all")
        r.sp()
    return ModseqKey(r.number(maximum=MODSEQ_MAX, what="a mod-sequence"), entry, entry_type)
