"""What every protocol needs from the mail store.

The API is synchronous and imports no Twisted: sessions call it through an
injected ``run_blocking`` (a thread pool in the server, inline in tests), so
implementations must be safe to call from several threads at once and from
several processes on one Maildir at once.

Names are Unicode ``str`` with ``HIERARCHY_DELIMITER`` between levels; the
protocols encode them (modified UTF-7 for IMAP), the Maildir store encodes them
on disk. Flags are ``str``: system flags with their backslash (``"\\Seen"``)
and keywords as the client wrote them (``"$Forwarded"``).

Errors are raised as :class:`mailsuite.errors.MailError` with a neutral kind.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO, Protocol

if TYPE_CHECKING:
    from mailsuite.message import BodyStructure, Envelope, Message

__all__ = [
    "ANSWERED",
    "DELETED",
    "DRAFT",
    "FLAGGED",
    "HIERARCHY_DELIMITER",
    "INBOX",
    "RECENT",
    "SEEN",
    "SYSTEM_FLAGS",
    "ChangeNotifier",
    "CopyResult",
    "FlagMode",
    "FlagUpdate",
    "Mailbox",
    "MailboxInfo",
    "MailboxSnapshot",
    "MailboxStatus",
    "MailStore",
    "MessageRecord",
    "QuotaUsage",
    "StoreFactory",
]

INBOX = "INBOX"
HIERARCHY_DELIMITER = "."  # Maildir++ and Dovecot's default for it

SEEN = "\\Seen"
ANSWERED = "\\Answered"
FLAGGED = "\\Flagged"
DELETED = "\\Deleted"
DRAFT = "\\Draft"
RECENT = "\\Recent"  # session state, never stored or set by a client
SYSTEM_FLAGS = frozenset({SEEN, ANSWERED, FLAGGED, DELETED, DRAFT})


class FlagMode(enum.Enum):
    REPLACE = "replace"  # STORE FLAGS
    ADD = "add"  # STORE +FLAGS
    REMOVE = "remove"  # STORE -FLAGS


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """One message as the index knows it (no message file is opened to make it)."""

    uid: int
    flags: frozenset[str]
    modseq: int
    rfc822_size: int  # size with CRLF line ends: IMAP RFC822.SIZE, POP3 STAT/LIST
    internal_date: float  # POSIX seconds, IMAP INTERNALDATE
    filename: str = ""  # Maildir base name (without ":2,flags"), for POP3 UIDL formats


@dataclass(frozen=True, slots=True)
class MailboxSnapshot:
    """A consistent view of a mailbox at one moment.

    ``messages`` is sorted by UID; the sequence number of ``messages[i]`` is
    ``i + 1``. ``recent_uids`` are the messages this opening of the mailbox is
    the first to see (IMAP \\Recent): every message is reported recent to
    exactly one session.
    """

    name: str
    uidvalidity: int
    uidnext: int
    highestmodseq: int
    messages: tuple[MessageRecord, ...]
    recent_uids: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class MailboxStatus:
    """IMAP STATUS data, computed from the index."""

    messages: int
    recent: int
    uidnext: int
    uidvalidity: int
    unseen: int  # messages without \\Seen
    highestmodseq: int
    size: int  # sum of RFC822 sizes (STATUS=SIZE)


@dataclass(frozen=True, slots=True)
class MailboxInfo:
    """One line of a mailbox listing."""

    name: str
    # RFC 3501 / 5258 / 6154 attributes: \\Noselect, \\HasChildren,
    # \\HasNoChildren, \\Subscribed is protocol-side; \\Drafts etc. for special use.
    attributes: frozenset[str] = frozenset()
    special_use: str | None = None


@dataclass(frozen=True, slots=True)
class FlagUpdate:
    """What a flag change did.

    ``changed`` holds the new records of messages whose flags changed (with
    their new MODSEQ). ``modified`` holds UIDs that failed an UNCHANGEDSINCE
    test (RFC 7162 [MODIFIED]). UIDs that no longer exist are in neither.
    """

    changed: tuple[MessageRecord, ...] = ()
    modified: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class CopyResult:
    """UID pairs of a COPY/MOVE, in source UID order (RFC 4315 COPYUID)."""

    uidvalidity: int  # of the destination
    pairs: tuple[tuple[int, int], ...] = ()  # (source uid, destination uid)


@dataclass(frozen=True, slots=True)
class QuotaUsage:
    storage_bytes: int
    messages: int
    storage_limit_bytes: int = 0  # 0: no limit
    message_limit: int = 0


class ChangeNotifier(Protocol):
    """Told after every committed change so other sessions can be woken (IDLE).

    The store calls it from whatever thread made the change; the service
    layer's implementation hands it to the reactor. Changes made by other
    processes arrive through watching ``Mailbox.watch_paths()`` instead.
    """

    def changed(self, mailbox_key: str) -> None: ...


class Mailbox(Protocol):
    """One open mailbox of one user."""

    @property
    def name(self) -> str: ...

    @property
    def key(self) -> str:
        """A process-wide identity (the absolute Maildir path) for change notification."""
        ...

    @property
    def readonly(self) -> bool: ...

    def snapshot(self) -> MailboxSnapshot:
        """Sync with the disk (new files, renamed flags, removed files) and return the state.

        Cheap when nothing changed: an unchanged mailbox is not rescanned.
        """
        ...

    def status(self) -> MailboxStatus: ...

    def append(
        self,
        data: bytes | BinaryIO,
        flags: Iterable[str] = (),
        internal_date: float | None = None,
    ) -> int:
        """Store a new message durably (fsynced) and return its UID.

        Raises:
            MailError: NO_QUOTA over quota, TEMP on a disk error.
        """
        ...

    def set_flags(
        self,
        uids: Iterable[int],
        flags: Iterable[str],
        mode: FlagMode,
        unchanged_since: int | None = None,
    ) -> FlagUpdate: ...

    def copy(self, uids: Iterable[int], dest: Mailbox) -> CopyResult: ...

    def move(self, uids: Iterable[int], dest: Mailbox) -> CopyResult: ...

    def expunge(self, uids: Iterable[int] | None = None) -> list[int]:
        """Remove messages flagged \\Deleted (only those in ``uids`` when given).

        Returns:
            The expunged UIDs, ascending.
        """
        ...

    def vanished_since(self, modseq: int) -> list[int]:
        """UIDs expunged with a MODSEQ above ``modseq`` (QRESYNC VANISHED (EARLIER))."""
        ...

    def open_message(self, uid: int) -> BinaryIO:
        """The message file as stored (line ends may be LF), for streaming.

        Raises:
            MailError: EXPUNGED when the message is gone.
        """
        ...

    def message(self, uid: int) -> Message:
        """A lazily parsed view of the message (reads only what is asked for)."""
        ...

    def envelope(self, uid: int) -> Envelope:
        """The ENVELOPE data, from the cache when present."""
        ...

    def bodystructure(self, uid: int) -> BodyStructure:
        """The BODYSTRUCTURE data, from the cache when present."""
        ...

    def acquire_exclusive(self, purpose: str) -> Callable[[], None] | None:
        """Take a cross-process lock for a session that needs the mailbox to itself.

        POP3 uses it (RFC 1939 section 8: one maildrop session at a time).

        Returns:
            A function that releases the lock, or None when another session holds it.
        """
        ...

    def watch_paths(self) -> Sequence[str]:
        """Directories and files whose changes mean this mailbox changed."""
        ...

    def close(self) -> None: ...


class MailStore(Protocol):
    """All mailboxes of one user."""

    @property
    def user(self) -> str: ...

    @property
    def root(self) -> str: ...

    def list_mailboxes(self) -> list[MailboxInfo]: ...

    def create_mailbox(self, name: str, special_use: str | None = None) -> None: ...

    def delete_mailbox(self, name: str) -> None: ...

    def rename_mailbox(self, old: str, new: str) -> None:
        """Rename a mailbox and its children; renaming INBOX moves its messages."""
        ...

    def open_mailbox(self, name: str, readonly: bool = False) -> Mailbox: ...

    def subscriptions(self) -> list[str]: ...

    def subscribe(self, name: str) -> None: ...

    def unsubscribe(self, name: str) -> None: ...

    def quota(self) -> QuotaUsage: ...

    def recalculate_quota(self) -> QuotaUsage: ...


# A factory the service layer builds from config: user name + userdb fields -> store.
StoreFactory = Callable[[str, "dict[str, str]"], MailStore]
