"""One message as a search sees it: its index record first, its header or file on demand."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from mailsuite.errors import ErrorKind, MailError
from mailsuite.message import Message
from mailsuite.store.api import MessageRecord

from .text import decoded, parse_sent_date

__all__ = ["HeaderCache", "MessageView", "header_cache_for"]


@dataclass(frozen=True, slots=True)
class HeaderCache:
    """The store's cache of common header fields, so a search on them opens no file.

    Attributes:
        fields: the lower-case field names the cache holds, every occurrence.
        lookup: UID -> {lower-case name: [raw, unfolded values]}; a held field
            missing from the mapping is missing from the message.
    """

    fields: frozenset[str]
    lookup: Callable[[int], Mapping[str, list[str]]]


def header_cache_for(mailbox: object) -> HeaderCache | None:
    """The header cache of a Maildir mailbox (``header_fields``), None for other stores."""
    lookup = getattr(mailbox, "header_fields", None)
    if lookup is None:
        return None
    try:
        from mailsuite.store.maildir.facts import CACHED_HEADERS
    except ImportError:  # pragma: no cover - the Maildir store ships both together
        return None
    return HeaderCache(frozenset(CACHED_HEADERS), lookup)


class MessageView:
    """One message during one search: its record and, on demand, its header or file."""

    __slots__ = ("record", "index", "gone", "_load", "_cache", "_msg", "_fields", "_sent")

    def __init__(
        self,
        record: MessageRecord,
        index: int,
        load: Callable[[int], Message],
        cache: HeaderCache | None = None,
    ) -> None:
        self.record = record
        self.index = index  # position in the snapshot (sequence number - 1)
        self.gone = False  # expunged by someone else before we could read it
        self._load = load
        self._cache = cache
        self._msg: Message | None = None
        self._fields: Mapping[str, list[str]] | None = None
        self._sent: datetime.date | None | bool = False  # False: not looked at yet

    def message(self) -> Message | None:
        if self._msg is None and not self.gone:
            try:
                self._msg = self._load(self.record.uid)
            except MailError as e:
                if e.kind is not ErrorKind.EXPUNGED:
                    raise
                self.gone = True
        return self._msg

    def _cached(self, name: str) -> list[str] | None:
        """Raw values from the header cache, None when it does not hold the field."""
        cache = self._cache
        if cache is None or self.gone:
            return None
        lname = name.lower()
        if lname not in cache.fields:
            return None
        if self._fields is None:
            try:
                self._fields = cache.lookup(self.record.uid)
            except MailError as e:
                if e.kind is not ErrorKind.EXPUNGED:
                    raise
                self.gone = True
                return []
        return self._fields.get(lname, [])

    def header_block(self, name: str) -> bytes | None:
        """The raw header block when ``name`` must come from the file, else None."""
        if self._cache is not None and name.lower() in self._cache.fields:
            return None  # served from the cache, which is cheaper than any filter
        msg = self.message()
        return msg.header_bytes() if msg is not None else None

    def header_values(self, name: str) -> list[str]:
        raw = self._cached(name)
        if raw is not None:
            return [decoded(v) for v in raw]
        msg = self.message()
        return msg.header_values(name) if msg is not None else []

    def raw_header_values(self, name: str) -> list[str]:
        raw = self._cached(name)
        if raw is not None:
            return raw
        msg = self.message()
        return msg.raw_header_values(name) if msg is not None else []

    def sent_date(self, tz: datetime.tzinfo | None) -> datetime.date | None:
        """The day of the Date: field, else of the internal date (in ``tz``); None if gone."""
        if self._sent is False:
            self._sent = None
            values = self.raw_header_values("Date")
            if values:  # RFC 5322 3.6 allows one; the first counts
                self._sent = parse_sent_date(values[0])
            if self._sent is None and not self.gone:
                # RFC 5256 2.2 (SORT): no usable Date: means the internal date is
                # the sent date; SEARCH agrees with SORT. (Dovecot takes 1970.)
                try:
                    when = datetime.datetime.fromtimestamp(self.record.internal_date, tz)
                    self._sent = when.date()
                except (OverflowError, ValueError, OSError):
                    self._sent = None
        return self._sent if isinstance(self._sent, datetime.date) else None
