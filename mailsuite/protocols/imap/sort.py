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
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

from mailsuite.errors import ErrorKind, MailError
from mailsuite.message import Address, Envelope
from mailsuite.message.headers import decode_2047
from mailsuite.store.api import MailboxSnapshot, MessageRecord

from .basesubject import ascii_casemap, base_subject

__all__ = ["SORT_KEYS", "UnknownSortKey", "sent_date", "sort_uids"]

SORT_KEYS: Final = frozenset(
    {"ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO", "DISPLAYFROM", "DISPLAYTO"}
)
_RECORD_KEYS: Final = frozenset({"ARRIVAL", "SIZE"})
# ENVELOPE's stand-ins for a missing local part / domain (RFC 3501 7.4.2 via the message package).
_NO_MAILBOX: Final = "MISSING_MAILBOX"
_NO_DOMAIN: Final = "MISSING_DOMAIN"


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


def _first(addresses: tuple[Address, ...] | None) -> Address | None:
    return addresses[0] if addresses else None


def _mailbox_key(addresses: tuple[Address, ...] | None) -> str:
    """RFC 5256 3: the addr-mailbox of the first address, i;ascii-casemap."""
    first = _first(addresses)
    if first is None or not first.mailbox or first.mailbox == _NO_MAILBOX:
        return ""
    return ascii_casemap(first.mailbox)


def _display_key(addresses: tuple[Address, ...] | None) -> str:
    """RFC 5957 3: the decoded display name of the first address, else its addr-spec."""
    first = _first(addresses)
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


def _key_of(name: str, rec: MessageRecord, env: Envelope | None) -> Any:
    if name == "ARRIVAL":
        return rec.internal_date
    if name == "SIZE":
        return rec.rfc822_size
    assert env is not None
    if name == "DATE":
        return sent_date(env.date, rec.internal_date)
    if name == "SUBJECT":
        return ascii_casemap(base_subject(env.subject))
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


def sort_uids(
    criteria: Sequence[tuple[str, bool]],
    uids: Iterable[int],
    snapshot: MailboxSnapshot,
    load_envelope: Callable[[int], Envelope],
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
    needs_env = any(name not in _RECORD_KEYS for name, _ in criteria)
    keyed: list[tuple[list[Any], int]] = []
    for rec in rows:
        env: Envelope | None = None
        if needs_env:
            try:
                env = load_envelope(rec.uid)
            except MailError as e:
                if e.kind is not ErrorKind.EXPUNGED:
                    raise
                continue
        keyed.append(([_key_of(name, rec, env) for name, _ in criteria], rec.uid))
    # Stable sorts from the least significant key up: each REVERSE flips only its
    # own key, and equal messages keep the sequence order they started in.
    for pos in range(len(criteria) - 1, -1, -1):
        keyed.sort(key=lambda item: item[0][pos], reverse=criteria[pos][1])
    return [uid for _keys, uid in keyed]
