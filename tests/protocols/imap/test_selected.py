"""The selected-mailbox view: snapshots in, untagged EXISTS/EXPUNGE/FETCH out, in RFC order."""

from __future__ import annotations

import pytest

from mailsuite.protocols.imap.commands import Command, parse_command
from mailsuite.protocols.imap.selected import (
    SelectedView,
    UidValidityChanged,
    expunge_allowed_during,
)
from mailsuite.protocols.imap.wire.seqset import SequenceSet
from mailsuite.store.api import MailboxSnapshot, MessageRecord


def rec(uid: int, *flags: str, modseq: int = 1) -> MessageRecord:
    return MessageRecord(uid, frozenset(flags), modseq, 100, 0.0)


def snap(
    *records: MessageRecord, uidnext: int | None = None, recent: frozenset[int] = frozenset()
) -> MailboxSnapshot:
    highest = max((r.modseq for r in records), default=1)
    nxt = uidnext if uidnext is not None else max((r.uid for r in records), default=0) + 1
    return MailboxSnapshot("INBOX", 42, nxt, highest, tuple(records), recent)


def eleven() -> list[MessageRecord]:
    return [rec(u) for u in range(1, 12)]


def test_nothing_changed_gives_nothing() -> None:
    """An unchanged snapshot produces no responses."""
    view = SelectedView(snap(*eleven()))
    assert view.update(snap(*eleven()), allow_expunge=True) == []


def test_expunge_numbers_follow_rfc3501_example() -> None:
    """Expunging messages 3, 4, 7 and 11 of 11 reads 3, 3, 5, 8 (RFC 3501 7.4.1)."""
    view = SelectedView(snap(*eleven()))
    remaining = [r for r in eleven() if r.uid not in (3, 4, 7, 11)]
    out = view.update(snap(*remaining, uidnext=12), allow_expunge=True)
    assert out == [b"* 3 EXPUNGE\r\n", b"* 3 EXPUNGE\r\n", b"* 5 EXPUNGE\r\n", b"* 8 EXPUNGE\r\n"]
    assert view.exists == 7
    assert view.uid_of(3) == 5 and view.seq_of(11) is None


def test_expunge_deferred_during_fetch() -> None:
    """While a FETCH runs, gone messages stay as ghosts and are announced afterwards."""
    view = SelectedView(snap(*eleven()))
    remaining = [r for r in eleven() if r.uid != 2]
    assert view.update(snap(*remaining, uidnext=12), allow_expunge=False) == []
    assert view.exists == 11 and view.is_expunged(2)
    assert view.update(snap(*remaining, uidnext=12), allow_expunge=True) == [b"* 2 EXPUNGE\r\n"]
    assert view.exists == 10 and not view.is_expunged(2)


def test_new_messages_exists_and_recent() -> None:
    """New messages give EXISTS then RECENT with the session's \\Recent count."""
    view = SelectedView(snap(rec(1), rec(2)))
    out = view.update(
        snap(rec(1), rec(2), rec(5), rec(6), recent=frozenset({5, 6})), allow_expunge=False
    )
    assert out == [b"* 4 EXISTS\r\n", b"* 2 RECENT\r\n"]
    assert view.flags_of(5) == {"\\Recent"}


def test_ghosts_count_in_exists() -> None:
    """A deferred expunge keeps its number, so EXISTS counts it until announced."""
    view = SelectedView(snap(rec(1), rec(2)))
    out = view.update(snap(rec(2), rec(3)), allow_expunge=False)
    assert out == [b"* 3 EXISTS\r\n", b"* 0 RECENT\r\n"]
    assert view.update(snap(rec(2), rec(3)), allow_expunge=True) == [b"* 1 EXPUNGE\r\n"]
    assert view.uids == [2, 3]


def test_expunge_and_new_message_together() -> None:
    """Expunges come first, then EXISTS with the new total."""
    view = SelectedView(snap(rec(1), rec(2), rec(3)))
    out = view.update(snap(rec(1), rec(3), rec(4)), allow_expunge=True)
    assert out == [b"* 2 EXPUNGE\r\n", b"* 3 EXISTS\r\n", b"* 0 RECENT\r\n"]


def test_flag_change_gives_flags_and_uid_only() -> None:
    """Another session's flag change gives FETCH with FLAGS and UID only."""
    view = SelectedView(snap(rec(1), rec(7)))
    out = view.update(snap(rec(1), rec(7, "\\Seen", modseq=2)), allow_expunge=False)
    assert out == [b"* 2 FETCH (FLAGS (\\Seen) UID 7)\r\n"]


def test_flag_change_with_condstore_adds_modseq() -> None:
    """With CONDSTORE on, unsolicited FETCH also carries MODSEQ (RFC 7162 3.1.4)."""
    view = SelectedView(snap(rec(1), rec(7)), condstore=True)
    out = view.update(snap(rec(1), rec(7, "\\Flagged", modseq=9)), allow_expunge=False)
    assert out == [b"* 2 FETCH (FLAGS (\\Flagged) UID 7 MODSEQ (9))\r\n"]


def test_recent_shows_in_unsolicited_flags() -> None:
    """A \\Recent message keeps \\Recent in the FLAGS of an unsolicited FETCH."""
    view = SelectedView(snap(rec(1), recent=frozenset({1})))
    out = view.update(snap(rec(1, "\\Seen", modseq=2), recent=frozenset({1})), allow_expunge=True)
    assert out == [b"* 1 FETCH (FLAGS (\\Seen \\Recent) UID 1)\r\n"]


def test_own_changes_are_not_repeated() -> None:
    """Changes the session reported itself (noted) are not sent again."""
    view = SelectedView(snap(rec(1), rec(2)))
    view.note_records([rec(2, "\\Deleted", modseq=3)])
    assert view.update(snap(rec(1), rec(2, "\\Deleted", modseq=3)), allow_expunge=True) == []


def test_others_change_below_own_modseq_still_reported() -> None:
    """A change by another session is reported even when our own later change was noted."""
    view = SelectedView(snap(rec(1), rec(2)))
    view.note_records([rec(2, "\\Deleted", modseq=3)])
    out = view.update(
        snap(rec(1, "\\Seen", modseq=2), rec(2, "\\Deleted", modseq=3)), allow_expunge=True
    )
    assert out == [b"* 1 FETCH (FLAGS (\\Seen) UID 1)\r\n"]


def test_qresync_uses_vanished() -> None:
    """With QRESYNC on, expunges are one VANISHED line of UIDs (RFC 7162 3.2.10)."""
    view = SelectedView(snap(*eleven()), qresync=True)
    remaining = [r for r in eleven() if r.uid not in (3, 4, 7)]
    out = view.update(snap(*remaining, uidnext=12), allow_expunge=True)
    assert out == [b"* VANISHED 3:4,7\r\n"]


def test_uidvalidity_change_raises() -> None:
    """A recreated mailbox (new UIDVALIDITY) cannot be synchronised."""
    view = SelectedView(snap(rec(1)))
    other = MailboxSnapshot("INBOX", 43, 2, 1, (rec(1),))
    with pytest.raises(UidValidityChanged, match="42 to 43"):
        view.update(other, allow_expunge=True)


def test_resolve_sequence_and_uid_sets() -> None:
    """Sets resolve to known (seq, uid) pairs; * is the last message; n:* includes the last UID."""
    view = SelectedView(snap(rec(10), rec(20), rec(30)))
    assert view.resolve(SequenceSet(((2, None),)), uid=False) == [(2, 20), (3, 30)]
    assert view.resolve(SequenceSet(((15, 30),)), uid=True) == [(2, 20), (3, 30)]
    assert view.resolve(SequenceSet(((559, None),)), uid=True) == [(3, 30)]
    assert view.resolve(SequenceSet(((4, 9),)), uid=False) == []
    view.saved_uids = (30, 10, 99)
    assert view.resolve(SequenceSet(saved=True), uid=True) == [(1, 10), (3, 30)]
    assert SelectedView(snap()).resolve(SequenceSet(((1, None),)), uid=False) == []


@pytest.mark.parametrize(
    ("line", "allowed"),
    [
        (b"a FETCH 1 FLAGS", False),
        (b"a UID FETCH 1 FLAGS", True),
        (b"a STORE 1 +FLAGS (x)", False),
        (b"a UID STORE 1 +FLAGS (x)", True),
        (b"a SEARCH ALL", False),
        (b"a UID SEARCH ALL", True),
        (b"a SORT (DATE) UTF-8 ALL", False),
        (b"a NOOP", True),
        (b"a IDLE", True),
        (b"a COPY 1 x", True),
    ],
)
def test_expunge_allowed_during(line: bytes, allowed: bool) -> None:
    """EXPUNGE is withheld only during FETCH, STORE, SEARCH and their like (RFC 3501 7.4.1)."""
    command = parse_command(line)
    assert isinstance(command, Command)
    assert expunge_allowed_during(command) is allowed
    assert expunge_allowed_during(None) is False


def test_modseq_only_change() -> None:
    """A MODSEQ change without new flags is silent, unless CONDSTORE is on."""
    plain = SelectedView(snap(rec(1), rec(2)))
    assert plain.update(snap(rec(1), rec(2, modseq=5)), allow_expunge=True) == []
    assert plain.record(2) == rec(2, modseq=5)
    cond = SelectedView(snap(rec(1), rec(2)), condstore=True)
    out = cond.update(snap(rec(1), rec(2, modseq=5)), allow_expunge=True)
    assert out == [b"* 2 FETCH (FLAGS () UID 2 MODSEQ (5))\r\n"]


def test_flag_change_while_expunge_waits() -> None:
    """Flag changes are reported while a ghost waits, numbered with the ghost still counted."""
    view = SelectedView(snap(rec(1), rec(2), rec(3)))
    out = view.update(snap(rec(1), rec(3, "\\Seen", modseq=4)), allow_expunge=False)
    assert out == [b"* 3 FETCH (FLAGS (\\Seen) UID 3)\r\n"]
    out = view.update(snap(rec(1), rec(3, "\\Seen", modseq=4)), allow_expunge=True)
    assert out == [b"* 2 EXPUNGE\r\n"]
    assert view.seq_of(3) == 2


def test_large_mailbox_single_change() -> None:
    """In a 20,000-message mailbox one flag change yields exactly one FETCH at its number."""
    records = [rec(u, modseq=u) for u in range(1, 20001)]
    view = SelectedView(snap(*records))
    records[12344] = rec(12345, "\\Flagged", modseq=20001)
    out = view.update(snap(*records), allow_expunge=True)
    assert out == [b"* 12345 FETCH (FLAGS (\\Flagged) UID 12345)\r\n"]


def test_own_change_alone_is_not_reported_again() -> None:
    """The session's own flag change, the only MODSEQ since, is not echoed by the next update."""
    view = SelectedView(snap(rec(1), rec(2)), condstore=True)
    mine = rec(2, "\\Seen", modseq=2)
    view.note_own_change([mine], 2)
    assert view.highestmodseq == 2
    assert view.update(snap(rec(1), mine), allow_expunge=True) == []


def test_own_change_does_not_hide_a_change_made_elsewhere() -> None:
    """When another session changed a message too, the view still finds and reports it."""
    view = SelectedView(snap(rec(1), rec(2)), condstore=True)
    theirs = rec(1, "\\Flagged", modseq=2)
    mine = rec(2, "\\Seen", modseq=3)
    view.note_own_change([mine], 3)
    assert view.highestmodseq == 1
    assert view.update(snap(theirs, mine), allow_expunge=True) == [
        b"* 1 FETCH (FLAGS (\\Flagged) UID 1 MODSEQ (2))\r\n"
    ]
