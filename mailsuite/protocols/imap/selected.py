"""The selected mailbox as one session sees it, and the untagged updates that keep it in sync.

A session keeps a :class:`SelectedView` built from the store's
:class:`~mailsuite.store.api.MailboxSnapshot` at SELECT. Each later snapshot
(after NOOP, IDLE wake-ups, or any command) is turned into untagged
responses by :meth:`SelectedView.update`:

* EXPUNGE (or VANISHED once QRESYNC is enabled) for messages that are gone,
  numbered as RFC 3501 section 7.4.1 requires: each one as the client's
  numbering stands after the ones before it;
* EXISTS and RECENT for new messages;
* FETCH (FLAGS, UID, and MODSEQ once CONDSTORE is on) for flag changes made
  elsewhere: only those items, as Apple Mail expects of unsolicited FETCH.

While FETCH, STORE or SEARCH (not their UID forms) run, expunges must not be
announced (RFC 3501 7.4.1): the view then keeps the gone messages as
"ghosts" with their last known state until an update that may announce them.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from typing import Final

from mailsuite.store.api import MailboxSnapshot, MessageRecord

from .commands import Command, Fetch, Search, Sort, Store, Thread
from .wire import data
from .wire.fetchrender import render_flags, render_modseq
from .wire.seqset import SequenceSet

__all__ = ["RECENT", "SelectedView", "UidValidityChanged", "expunge_allowed_during"]

RECENT: Final = "\\Recent"


def _uid(record: MessageRecord) -> int:
    return record.uid


class UidValidityChanged(Exception):
    """The mailbox's UIDVALIDITY changed under the session: it must be closed (BYE)."""


def expunge_allowed_during(command: Command | None) -> bool:
    """Whether EXPUNGE/VANISHED may be sent while ``command`` runs (RFC 3501 7.4.1).

    Not during FETCH, STORE or SEARCH (nor SORT/THREAD, which answer with
    sequence numbers the same way); their UID forms are fine, and so is
    every other command, IDLE and NOOP included. ``None`` (no command in
    progress) allows nothing: an unsolicited EXPUNGE would be unanchored.
    """
    if command is None:
        return False
    if isinstance(command, (Fetch, Store, Search, Sort, Thread)):
        return bool(getattr(command, "uid", False))
    return True


class SelectedView:
    """The selected mailbox in the client's numbering.

    Args:
        snapshot: the state at SELECT/EXAMINE.
        condstore: include MODSEQ in unsolicited FETCH (RFC 7162 3.1.4).
        qresync: announce expunges with VANISHED instead of EXPUNGE (RFC 7162 3.2.10).
    """

    def __init__(
        self, snapshot: MailboxSnapshot, *, condstore: bool = False, qresync: bool = False
    ) -> None:
        self.name = snapshot.name
        self.uidvalidity = snapshot.uidvalidity
        self.uidnext = snapshot.uidnext
        self.highestmodseq = snapshot.highestmodseq
        self.condstore = condstore or qresync
        self.qresync = qresync
        self._uids: list[int] = [m.uid for m in snapshot.messages]
        self._records: dict[int, MessageRecord] = {m.uid: m for m in snapshot.messages}
        self._recent: set[int] = set(snapshot.recent_uids) & self._records.keys()
        self._ghosts: set[int] = set()
        #: RFC 5182 SEARCHRES: the UIDs saved by the last SEARCH ... RETURN (SAVE).
        self.saved_uids: tuple[int, ...] = ()

    # -- the client's numbering ---------------------------------------------

    @property
    def exists(self) -> int:
        """The message count the client believes in (ghosts included)."""
        return len(self._uids)

    @property
    def recent_count(self) -> int:
        """Messages this session reports as \\Recent."""
        return len(self._recent)

    @property
    def uids(self) -> Sequence[int]:
        """UIDs in sequence order (index + 1 is the sequence number)."""
        return self._uids

    def seq_of(self, uid: int) -> int | None:
        """The sequence number of ``uid``, or None when the client does not know it."""
        i = bisect.bisect_left(self._uids, uid)
        return i + 1 if i < len(self._uids) and self._uids[i] == uid else None

    def uid_of(self, seq: int) -> int:
        """The UID at sequence number ``seq`` (1-based)."""
        return self._uids[seq - 1]

    def record(self, uid: int) -> MessageRecord | None:
        """The last known index record of ``uid``."""
        return self._records.get(uid)

    def is_recent(self, uid: int) -> bool:
        """Whether the message is \\Recent in this session."""
        return uid in self._recent

    def is_expunged(self, uid: int) -> bool:
        """Whether the message is gone but not yet announced (a ghost)."""
        return uid in self._ghosts

    def flags_of(self, uid: int) -> frozenset[str]:
        """The message's flags as the client should see them, \\Recent included."""
        rec = self._records.get(uid)
        flags = rec.flags if rec is not None else frozenset()
        return flags | {RECENT} if uid in self._recent else flags

    def resolve(self, sequence: SequenceSet, *, uid: bool) -> list[tuple[int, int]]:
        """The (sequence number, UID) pairs a set names, ascending, known messages only.

        ``*`` is the last message (RFC 3501 6.4.8: in a UID set, ``n:*``
        always includes the last UID even when n is larger). ``$`` uses
        :attr:`saved_uids`.
        """
        if sequence.saved:
            pairs = [(self.seq_of(u), u) for u in self.saved_uids]
            return sorted((s, u) for s, u in pairs if s is not None)
        if not self._uids:
            return []
        out: list[tuple[int, int]] = []
        if uid:
            for lo, hi in sequence.resolve(self._uids[-1]):
                start = bisect.bisect_left(self._uids, lo)
                stop = bisect.bisect_right(self._uids, hi)
                out.extend((i + 1, self._uids[i]) for i in range(start, stop))
        else:
            count = len(self._uids)
            for lo, hi in sequence.resolve(count):
                out.extend((s, self._uids[s - 1]) for s in range(lo, min(hi, count) + 1))
        return out

    # -- changes -------------------------------------------------------------

    def note_records(self, records: Iterable[MessageRecord]) -> None:
        """Record changes the session already reported itself (its own STORE, \\Seen by FETCH),
        so the next update does not repeat them."""
        for rec in records:
            # HIGHESTMODSEQ stays as the last snapshot said: changes by others with a
            # lower MODSEQ may still be unreported, and the next update must look.
            if rec.uid in self._records and rec.uid not in self._ghosts:
                self._records[rec.uid] = rec

    def note_own_change(self, records: Sequence[MessageRecord], highestmodseq: int) -> None:
        """Record the session's own flag change, made as one store operation.

        The store gives each operation the next MODSEQ. When ours is the only
        MODSEQ handed out since the last update (``highestmodseq`` is one above
        what the view knows and our records carry it), the view is current up
        to it, so the next update need not compare every message of a large
        mailbox for changes made elsewhere: there were none.
        """
        self.note_records(records)
        if (
            records
            and highestmodseq == self.highestmodseq + 1
            and all(rec.modseq == highestmodseq for rec in records)
        ):
            self.highestmodseq = highestmodseq

    def update(self, snapshot: MailboxSnapshot, *, allow_expunge: bool) -> list[bytes]:
        """Bring the view up to ``snapshot`` and return the untagged responses that tell the client.

        Args:
            snapshot: the store's current state of this mailbox.
            allow_expunge: expunges may be announced now (see
                :func:`expunge_allowed_during`); otherwise they wait as ghosts.

        Raises:
            UidValidityChanged: the mailbox was recreated; the session must end.
        """
        if snapshot.uidvalidity != self.uidvalidity:
            raise UidValidityChanged(
                f"UIDVALIDITY of {snapshot.name} changed from {self.uidvalidity}"
                f" to {snapshot.uidvalidity}"
            )
        if (
            snapshot.highestmodseq == self.highestmodseq
            and snapshot.uidnext == self.uidnext
            and len(snapshot.messages) + len(self._ghosts) == len(self._uids)
            and not (self._ghosts and allow_expunge)
        ):
            return []  # nothing changed: no per-message work on a large mailbox
        out: list[bytes] = []
        msgs = snapshot.messages
        last = self._uids[-1] if self._uids else 0
        # msgs is sorted by UID: msgs[:known] are messages the client knows, the rest are new
        # (the store never assigns a UID below UIDNEXT, so nothing unknown hides among them).
        known = bisect.bisect_right(msgs, last, key=_uid)
        if known == len(self._uids) - len(self._ghosts):
            gone = sorted(self._ghosts)  # no new expunges: only the waiting ones
        else:
            alive = {m.uid for m in msgs[:known]}
            gone = [u for u in self._uids if u not in alive]
        if gone and allow_expunge:
            out.extend(self._announce_expunges(gone))
        else:
            self._ghosts.update(gone)
        added = msgs[known:]
        for m in added:
            self._uids.append(m.uid)
            self._records[m.uid] = m
            if m.uid in snapshot.recent_uids:
                self._recent.add(m.uid)
        if added:
            # RFC 3501 7.3.1/7.3.2: the new size, then the new \Recent count.
            out.append(data.exists(len(self._uids)))
            out.append(data.recent(len(self._recent)))
        if snapshot.highestmodseq != self.highestmodseq:
            # RFC 7162 3.1: every flag change raises the message's MODSEQ above the
            # old HIGHESTMODSEQ, so only those records can differ. (Should MODSEQ ever
            # go backwards, compare them all rather than miss a change.)
            floor = self.highestmodseq if snapshot.highestmodseq > self.highestmodseq else 0
            records = self._records
            for m in msgs[:known]:
                if m.modseq <= floor:
                    continue
                old = records.get(m.uid)
                if old is None or (old.flags == m.flags and old.modseq == m.modseq):
                    continue  # unknown lower UID (never numbered), or already reported
                records[m.uid] = m
                if old.flags != m.flags or self.condstore:
                    out.append(self._unsolicited_fetch(m))
        self.uidnext = snapshot.uidnext
        self.highestmodseq = max(self.highestmodseq, snapshot.highestmodseq)
        return out

    def _announce_expunges(self, gone: list[int]) -> list[bytes]:
        """EXPUNGE lines in ascending order, each numbered after the previous ones took effect
        (RFC 3501 7.4.2: expunging 3, 4, 7, 11 of 11 reads 3, 3, 5, 8), or one VANISHED."""
        gone_set = set(gone)
        out: list[bytes] = []
        if self.qresync:
            out.append(data.vanished(gone))
        else:
            removed = 0
            for index, uid in enumerate(self._uids):
                if uid in gone_set:
                    out.append(data.expunge(index + 1 - removed))
                    removed += 1
        self._uids = [u for u in self._uids if u not in gone_set]
        for uid in gone:
            self._records.pop(uid, None)
            self._recent.discard(uid)
        self._ghosts -= gone_set
        return out

    def _unsolicited_fetch(self, rec: MessageRecord) -> bytes:
        """``* n FETCH (FLAGS (...) UID u [MODSEQ (m)])``: only these items."""
        seq = self.seq_of(rec.uid)
        assert seq is not None  # only called for messages in the view
        items = [
            (b"FLAGS", render_flags(rec.flags, recent=rec.uid in self._recent)),
            (b"UID", b"%d" % rec.uid),
        ]
        if self.condstore:
            items.append((b"MODSEQ", render_modseq(rec.modseq)))
        return data.fetch(seq, items)
