"""RFC 5256 SORT (and RFC 5957 DISPLAYFROM/DISPLAYTO): the order of a search result.

The session runs SEARCH first (:func:`mailsuite.protocols.imap.search.evaluate_search`)
and hands the matching UIDs here. Every key comes from the index record
(ARRIVAL, SIZE) or the cached ENVELOPE (CC, DATE, FROM, SUBJECT, TO, DISPLAY*),
so no message file is opened while the store's envelope cache is intact, and
no envelope is loaded at all when only ARRIVAL/SIZE are asked for.

Rules (RFC 5256 sections 2.2 and 3):

* strings compare with i;ascii-casemap (:func:`~.basesubject.ascii_casemap`);
* the sent date (DATE) is the Date: field normalised to UTC; when it is
  missing or unparsable the INTERNALDATE stands in (section 2.2);
* FROM, TO, CC take the addr-mailbox of the first address, an empty string
  when there is none; DISPLAYFROM/DISPLAYTO (RFC 5957 section 3) take its
  RFC 2047-decoded display name, or ``mailbox@host`` when it has none;
* REVERSE reverses only the key it precedes; messages equal on every key
  stay in sequence-number order (section 3: "in the order in which they
  appear in the mailbox").
"""

from __future__ import annotations

import calendar
import email.utils
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

from mailsuite.errors import ErrorKind, MailError
from mailsuite.message import Address, Envelope
from mailsuite.message.headers import decode_2047
from mailsuite.store.api import MailboxSnapshot, MessageRecord

from .basesubject import ascii_casemap, base_subject

__all__ = ["SORT_CAPABILITIES", "SORT_KEYS", "UnknownSortKey", "sent_date", "sort_uids"]

SORT_KEYS: Final = frozenset(
    {"ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO", "DISPLAYFROM", "DISPLAYTO"}
)
# What CAPABILITY advertises for this module (RFC 5256 SORT, RFC 5957 SORT=DISPLAY).
SORT_CAPABILITIES: Final = ("SORT", "SORT=DISPLAY")
_RECORD_KEYS: Final = frozenset({"ARRIVAL", "SIZE"})
# Keys the store's header cache answers with one small JSON load (no address lists).
_FIELD_KEYS: Final = frozenset({"ARRIVAL", "SIZE", "DATE", "SUBJECT"})
# ENVELOPE's stand-ins for a missing local part / domain (RFC 3501 7.4.2 via the message package).
_NO_MAILBOX: Final = "MISSING_MAILBOX"
_NO_DOMAIN: Final = "MISSING_DOMAIN"


# The shape nearly every Date: field has (RFC 5322 3.3), parsed without email.utils:
# [day-of-week ","] day month 4-digit-year hour ":" minute [":" second] [zone].
_COMMON_DATE: Final = re.compile(
    r"\s*(?:[A-Za-z]{3},\s*)?(\d{1,2})\s+([A-Za-z]{3})\s+(\d{4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?"
    r"(?:\s+(?:([+-])(\d{2})(\d{2})|GMT|UTC?|Z))?\s*(?:\(.*\))?\s*\Z"
)
_MONTHS: Final = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}


class UnknownSortKey(ValueError):
    """A sort key this module does not know (the command layer normally rejects it first)."""


def sent_date(date_value: str | None, internal_date: float) -> float:
    """RFC 5256 section 2.2 sent date as POSIX seconds (UTC).

    Args:
        date_value: the raw Date: field (None when missing).
        internal_date: the INTERNALDATE, used when the field is missing or
            cannot be parsed.

    Returns:
        The Date: field's moment normalised to UTC (a missing or invalid
        zone counts as UTC, as section 2.2 says), else ``internal_date``.
    """
    if date_value:
        m = _COMMON_DATE.match(date_value)
        if m is not None:
            month = _MONTHS.get(m.group(2).lower())
            day, hour, minute, second = (int(m.group(n) or 0) for n in (1, 4, 5, 6))
            if month and 1 <= day <= 31 and hour <= 23 and minute <= 59 and second <= 60:
                stamp = calendar.timegm((int(m.group(3)), month, day, hour, minute, second))
                if m.group(7):
                    offset = int(m.group(8)) * 3600 + int(m.group(9)) * 60
                    stamp -= offset if m.group(7) == "+" else -offset
                return float(stamp)
        try:
            parts = email.utils.parsedate_tz(date_value)
            if parts is not None:
                # timegm, not mktime_tz: a missing zone is UTC, never the server's zone.
                if not 1 <= parts[1] <= 12 or not 1 <= parts[2] <= 31:
                    raise ValueError("date out of range")
                stamp = calendar.timegm((*parts[:6], 0, 1, 0))
                return float(stamp - (parts[9] or 0))
        except (ValueError, TypeError, OverflowError, IndexError):
            pass
    return internal_date


def _mailbox_key(addresses: tuple[Address, ...] | None) -> str:
    """RFC 5256 3: the addr-mailbox of the first address, i;ascii-casemap."""
    first = addresses[0] if addresses else None
    if first is None or not first.mailbox or first.mailbox == _NO_MAILBOX:
        return ""
    return ascii_casemap(first.mailbox)


def _display_key(addresses: tuple[Address, ...] | None) -> str:
    """RFC 5957 3: the decoded display name of the first address, else its addr-spec."""
    first = addresses[0] if addresses else None
    if first is None:
        return ""
    if first.name:
        name = decode_2047(first.name.encode("utf-8", "surrogateescape")).strip()
        if name:
            return ascii_casemap(name)
    if first.host is None:  # a group: its name is all there is
        return ascii_casemap(first.mailbox or "")
    local = "" if first.mailbox in (None, _NO_MAILBOX) else first.mailbox
    host = "" if first.host == _NO_DOMAIN else first.host
    return ascii_casemap(f"{local}@{host}" if local and host else local or host or "")


class _Keys:
    """Key computation for one SORT, with the base subjects memoised (threads repeat them)."""

    __slots__ = ("_subjects",)

    def __init__(self) -> None:
        self._subjects: dict[str | None, str] = {}

    def subject(self, raw: str | None) -> str:
        key = self._subjects.get(raw)
        if key is None:
            key = self._subjects[raw] = ascii_casemap(base_subject(raw))
        return key

    def of(
        self, name: str, rec: MessageRecord, env: Envelope | None, fields: _Fields | None
    ) -> Any:
        if name == "ARRIVAL":
            return rec.internal_date
        if name == "SIZE":
            return rec.rfc822_size
        if fields is not None:
            if name == "DATE":
                return sent_date(_first(fields.get("date")), rec.internal_date)
            return self.subject(_first(fields.get("subject")))
        assert env is not None
        if name == "DATE":
            return sent_date(env.date, rec.internal_date)
        if name == "SUBJECT":
            return self.subject(env.subject)
        if name == "FROM":
            return _mailbox_key(env.from_)
        if name == "TO":
            return _mailbox_key(env.to)
        if name == "CC":
            return _mailbox_key(env.cc)
        if name == "DISPLAYFROM":
            return _display_key(env.from_)
        if name == "DISPLAYTO":
            return _display_key(env.to)
        raise UnknownSortKey(f"Unknown sort key {name}")


_Fields = Mapping[str, list[str]]


def _first(values: list[str] | None) -> str | None:
    return values[0] if values else None


def sort_uids(
    criteria: Sequence[tuple[str, bool]],
    uids: Iterable[int],
    snapshot: MailboxSnapshot,
    load_envelope: Callable[[int], Envelope],
    *,
    load_fields: Callable[[int], _Fields] | None = None,
) -> list[int]:
    """Order ``uids`` by the SORT criteria.

    Blocking when envelopes must be loaded: call it through ``run_blocking``.

    Args:
        criteria: ``(key, reverse)`` pairs, most significant first, as
            :class:`~.commands.search.Sort` holds them.
        uids: the messages to order (the SEARCH result); UIDs not in
            ``snapshot`` are ignored.
        snapshot: the mailbox as the session sees it (sequence numbers are
            positions in it, and break ties).
        load_envelope: UID -> ENVELOPE (``Mailbox.envelope``, cached). A
            :class:`MailError` EXPUNGED drops the message, as SEARCH does.
        load_fields: UID -> {lower-case field: [raw values]}, the store's header
            cache (``thread.fields_loader``); when given and only ARRIVAL, SIZE,
            DATE and SUBJECT are asked for, it is used instead of the envelope
            (the same raw values, several times cheaper to load).

    Returns:
        The UIDs in sort order (the session maps them to sequence numbers
        for a non-UID SORT).

    Raises:
        UnknownSortKey: a key outside :data:`SORT_KEYS`.
        MailError: loading an envelope failed for a reason other than an expunge.
    """
    for name, _reverse in criteria:
        if name not in SORT_KEYS:
            raise UnknownSortKey(f"Unknown sort key {name}")
    wanted = set(uids)
    # Records in sequence order: the order equal messages keep (the final tie-break).
    rows = [rec for rec in snapshot.messages if rec.uid in wanted]
    names = [name for name, _ in criteria]
    needs_load = any(name not in _RECORD_KEYS for name in names)
    use_fields = load_fields is not None and all(name in _FIELD_KEYS for name in names)
    keys = _Keys()
    keyed: list[tuple[list[Any], int]] = []
    for rec in rows:
        env: Envelope | None = None
        fields: _Fields | None = None
        if needs_load:
            try:
                if use_fields:
                    assert load_fields is not None
                    fields = load_fields(rec.uid)
                else:
                    env = load_envelope(rec.uid)
            except MailError as e:
                if e.kind is not ErrorKind.EXPUNGED:
                    raise
                continue
        keyed.append(([keys.of(name, rec, env, fields) for name in names], rec.uid))
    # Stable sorts from the least significant key up: each REVERSE flips only its
    # own key, and equal messages keep the sequence order they started in.
    for pos in range(len(criteria) - 1, -1, -1):
        keyed.sort(key=lambda item: item[0][pos], reverse=criteria[pos][1])
    return [uid for _keys, uid in keyed]
