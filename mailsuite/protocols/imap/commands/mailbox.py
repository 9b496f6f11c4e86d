"""Mailbox commands: SELECT, EXAMINE, CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, STATUS,
APPEND, GETQUOTA, GETQUOTAROOT (RFC 3501 6.3, RFC 7162 3.1.8/3.2.5, RFC 3502, RFC 9208)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Final

from ..wire.framer import LiteralSink
from ..wire.reader import MODSEQ_MAX, ParseError, Reader
from ..wire.seqset import SequenceSet
from .base import AUTHED_OR_SELECTED, Command, State

__all__ = [
    "STATUS_ITEMS",
    "Append",
    "AppendMessage",
    "Create",
    "Delete",
    "Examine",
    "GetQuota",
    "GetQuotaRoot",
    "QResyncParams",
    "Rename",
    "Select",
    "SetQuota",
    "Status",
    "Subscribe",
    "Unsubscribe",
]

# RFC 3501 6.3.10, RFC 7162 3.1.6 (HIGHESTMODSEQ), RFC 8438 (SIZE), RFC 9051 (DELETED),
# RFC 7889 (APPENDLIMIT).
STATUS_ITEMS: Final = frozenset(
    {"MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "HIGHESTMODSEQ", "SIZE", "DELETED"}
    | {"APPENDLIMIT"}
)
SPECIAL_USE: Final = frozenset(
    {"\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash", "\\Important"}
)
_SPECIAL_USE_BY_UPPER: Final = {s.upper(): s for s in SPECIAL_USE}
APPEND_MAX_MESSAGES: Final = 1000  # MULTIAPPEND messages in one command


@dataclass(frozen=True, slots=True)
class QResyncParams:
    """The QRESYNC select parameter (RFC 7162 3.2.5)."""

    uidvalidity: int
    modseq: int
    known_uids: SequenceSet | None = None
    #: (known sequence numbers, their UIDs) for the server to find expunges cheaply.
    seq_match: tuple[SequenceSet, SequenceSet] | None = None


@dataclass(frozen=True, slots=True)
class Select(Command):
    """SELECT mailbox [(CONDSTORE | QRESYNC (...))] (RFC 3501 6.3.1, RFC 7162)."""

    name: ClassVar[bytes] = b"SELECT"
    allowed: ClassVar[frozenset[State]] = AUTHED_OR_SELECTED
    breaks_sequences: ClassVar[bool] = True
    readonly: ClassVar[bool] = False

    mailbox: str = ""
    condstore: bool = False
    qresync: QResyncParams | None = None

    @classmethod
    def parse(cls, tag: bytes, r: Reader, *, uid: bool = False) -> Select:
        r.sp()
        mailbox = r.mailbox()
        condstore = False
        qresync: QResyncParams | None = None
        if r.try_sp():
            r.open_paren()
            while True:
                param = r.keyword("a SELECT parameter")
                if param == "CONDSTORE":
                    condstore = True
                elif param == "QRESYNC":
                    r.sp()
                    qresync = _qresync(r)
                else:
                    raise ParseError(f"Unknown SELECT parameter {param}")
                if r.close_paren():
                    break
                r.sp()
        return cls(tag, mailbox, condstore, qresync)


@dataclass(frozen=True, slots=True)
class Examine(Select):
    """EXAMINE: SELECT read-only (RFC 3501 6.3.2)."""

    name: ClassVar[bytes] = b"EXAMINE"
    readonly: ClassVar[bool] = True


def _qresync(r: Reader) -> QResyncParams:
    """``"(" uidvalidity SP mod-sequence-value [SP known-uids] [SP seq-match-data] ")"``."""
    r.open_paren()
    uidvalidity = r.nz_number(what="a UIDVALIDITY")
    r.sp()
    modseq = r.nz_number(maximum=MODSEQ_MAX, what="a mod-sequence")
    known: SequenceSet | None = None
    match: tuple[SequenceSet, SequenceSet] | None = None
    if r.try_sp():
        if r.peek() != b"(":
            known = r.seq_set(allow_saved=False)
            if any(None in rng for rng in known.ranges):
                raise ParseError("'*' is not allowed in QRESYNC known-uids")
            if r.try_sp():
                match = _seq_match(r)
        else:
            match = _seq_match(r)
    if not r.close_paren():
        raise ParseError("Expected ')' to end the QRESYNC parameter")
    return QResyncParams(uidvalidity, modseq, known, match)


def _seq_match(r: Reader) -> tuple[SequenceSet, SequenceSet]:
    """``seq-match-data = "(" known-sequence-set SP known-uid-set ")"``."""
    r.open_paren()
    seqs = r.seq_set(allow_saved=False)
    r.sp()
    uids = r.seq_set(allow_saved=False)
    if not r.close_paren():
        raise ParseError("Expected ')' after QRESYNC sequence match data")
    return seqs, uids


@dataclass(frozen=True, slots=True)
class Create(Command):
    """CREATE mailbox [(USE (\\Drafts ...))] (RFC 3501 6.3.3, RFC 6154 3)."""

    name: ClassVar[bytes] = b"CREATE"
    allowed: ClassVar[frozenset[State]] = AUTHED_OR_SELECTED

    mailbox: str = ""
    special_use: tuple[str, ...] = ()

    @classmethod
    def parse(cls, tag: bytes, r: Reader, *, uid: bool = False) -> Create:
        r.sp()
        mailbox = r.mailbox()
        uses: list[str] = []
        if r.try_sp():
            r.open_paren()
            if r.keyword("a CREATE parameter") != "USE":
                raise ParseError("The only CREATE parameter is USE (RFC 6154)")
            r.sp()
            r.open_paren()
            while not r.close_paren():
                if uses:
                    r.sp()
                r.expect(b"\\", "a special-use attribute")
                attr = "\\" + r.atom("a special-use attribute").decode("ascii")
                if attr.upper() not in _SPECIAL_USE_BY_UPPER:
                    raise ParseError(f"Unknown special-use attribute {attr}")
                uses.append(_SPECIAL_USE_BY_UPPER[attr.upper()])
            if not r.close_paren():
                raise ParseError("Expected ')' after the CREATE parameters")
        return cls(tag, mailbox, tuple(uses))


@dataclass(frozen=True, slots=True)
class Delete(Command):
    """DELETE mailbox (RFC 3501 6.3.4)."""

    name: ClassVar[bytes] = b"DELETE"
    allowed: ClassVar[frozenset[State]] = AUTHED_OR_SELECTED

    mailbox: str = ""

    @classmethod
    def parse(cls, tag: bytes, r: Reader, *, uid: bool = False) -> Delete:
        r.sp()
        return cls(tag, r.mailbox())


@dataclass(frozen=True, slots=True)
class Rename(Command):
    """RENAME old new (RFC 3501 6.3.5; renaming INBOX moves its messages)."""

    name: ClassVar[bytes] = b"RENAME"
    allowed: ClassVar[frozenset[State]] = AUTHED_OR_SELECTED

    mailbox: str = ""
    new_name: str = ""

    @classmethod
    def parse(cls, tag: bytes, r: Reader, *, uid: bool = False) -> Rename:
        r.sp()
        old = r.mailbox()
        r.sp()
        return cls(tag, old, r.mailbox())


@dataclass(frozen=True, slots=True)
class Subscribe(Command):
    """SUBSCRIBE mailbox (RFC 3501 6.3.6)."""

    name: ClassVar[bytes] = b"SUBSCRIBE"
    allowed: ClassVar[frozenset[State]] = AUTHED_OR_SELECTED

    mailbox: str = ""

    @classmethod
    def parse(cls, tag: bytes, r: Reader, *, uid: bool = False) -> Subscribe:
        r.sp()
        return cls(tag, r.mailbox())


@dataclass(frozen=True, slots=True)
class Unsubscribe(Subscribe):
    """UNSUBSCRIBE mailbox (RFC 3501 6.3.7)."""

    name: ClassVar[bytes] = b"UNSUBSCRIBE"


@dataclass(frozen=True, slots=True)
class Status(Command):
    """STATUS mailbox (items) (RFC 3501 6.3.10); items upper-case, in the client's order."""

    name: ClassVar[bytes] = b"STATUS"
    allowed: ClassVar[frozenset[State]] = AUTHED_OR_SELECTED

    mailbox: str = ""
    items: tuple[str, ...] = ()

    @classmethod
    def parse(cls, tag: bytes, r: Reader, *, uid: bool = False) -> Status:
        r.sp()
        mailbox = r.mailbox()
        r.sp()
        return cls(tag, mailbox, status_items(r))


def status_items(r: Reader) -> tuple[str, ...]:
    """``"(" status-att *(SP status-att) ")"`` (also used by LIST RETURN (STATUS ...))."""
    r.open_paren()
    items: list[str] = []
    while True:
        item = r.keyword("a STATUS item")
        if item not in STATUS_ITEMS:
            raise ParseError(f"Unknown STATUS item {item}")
        items.append(item)
        if r.close_paren():
            return tuple(dict.fromkeys(items))
        r.sp()


@dataclass(frozen=True, slots=True)
class AppendMessage:
    """One message of an APPEND: flags, internal date (POSIX seconds or None) and octets.

    ``binary`` is true when it came as a literal8 (RFC 3516 APPEND ~{n}).
    ``data`` is the octets, or for a large message the framer's spool of them
    (the server closes it after the command).
    """

    flags: tuple[str, ...]
    internal_date: float | None
    data: bytes | LiteralSink
    binary: bool = False


@dataclass(frozen=True, slots=True)
class Append(Command):
    """APPEND mailbox [flags] [date-time] literal (RFC 3501 6.3.11), several with MULTIAPPEND."""

    name: ClassVar[bytes] = b"APPEND"
    allowed: ClassVar[frozenset[State]] = AUTHED_OR_SELECTED

    mailbox: str = ""
    messages: tuple[AppendMessage, ...] = ()

    @classmethod
    def parse(cls, tag: bytes, r: Reader, *, uid: bool = False) -> Append:
        r.sp()
        mailbox = r.mailbox()
        messages: list[AppendMessage] = []
        # RFC 3502 3: append-message *(SP append-message)
        while r.try_sp() or not messages:
            if not messages and r.at_end():
                raise ParseError("Missing message literal")
            flags: tuple[str, ...] = ()
            when: float | None = None
            if r.peek() == b"(":
                flags = r.flag_list()
                r.sp()
            if r.peek() == b'"':
                when = r.date_time().timestamp()
                r.sp()
            if not r.is_literal():
                raise ParseError("Expected the message as a literal")
            binary = r.peek() == b"~"
            data = r.message_literal()
            messages.append(AppendMessage(flags, when, data, binary))
            if len(messages) > APPEND_MAX_MESSAGES:
                raise ParseError(f"More than {APPEND_MAX_MESSAGES} messages in one APPEND")
        return cls(tag, mailbox, tuple(messages))


@dataclass(frozen=True, slots=True)
class GetQuota(Command):
    """GETQUOTA root (RFC 9208 4.2)."""

    name: ClassVar[bytes] = b"GETQUOTA"
    allowed: ClassVar[frozenset[State]] = AUTHED_OR_SELECTED

    root: str = ""

    @classmethod
    def parse(cls, tag: bytes, r: Reader, *, uid: bool = False) -> GetQuota:
        r.sp()
        return cls(tag, r.text_astring("a quota root"))


@dataclass(frozen=True, slots=True)
class GetQuotaRoot(Command):
    """GETQUOTAROOT mailbox (RFC 9208 4.3)."""

    name: ClassVar[bytes] = b"GETQUOTAROOT"
    allowed: ClassVar[frozenset[State]] = AUTHED_OR_SELECTED

    mailbox: str = ""

    @classmethod
    def parse(cls, tag: bytes, r: Reader, *, uid: bool = False) -> GetQuotaRoot:
        r.sp()
        return cls(tag, r.mailbox())


@dataclass(frozen=True, slots=True)
class SetQuota(Command):
    """SETQUOTA root (resource limit ...) (RFC 9208 4.1); limits are set by the admin,
    so the session answers NO [NOPERM], but the syntax is still checked."""

    name: ClassVar[bytes] = b"SETQUOTA"
    allowed: ClassVar[frozenset[State]] = AUTHED_OR_SELECTED

    root: str = ""
    limits: tuple[tuple[str, int], ...] = ()

    @classmethod
    def parse(cls, tag: bytes, r: Reader, *, uid: bool = False) -> SetQuota:
        r.sp()
        root = r.text_astring("a quota root")
        r.sp()
        r.open_paren()
        limits: list[tuple[str, int]] = []
        while not r.close_paren():
            if limits:
                r.sp()
            resource = r.keyword("a quota resource name")
            r.sp()
            limits.append((resource, r.number(maximum=MODSEQ_MAX, what="a quota limit")))
        return cls(tag, root, tuple(limits))
