"""RFC 5256 SORT over a real Maildir store: every key, REVERSE, ties, fallbacks, the cache."""

from __future__ import annotations

import calendar
import datetime
import email.utils
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from mailsuite.errors import ErrorKind, MailError
from mailsuite.message import Envelope
from mailsuite.protocols.imap.sort import UnknownSortKey, sent_date, sort_uids
from mailsuite.protocols.imap.thread import fields_loader
from mailsuite.store.api import Mailbox, MailboxSnapshot
from mailsuite.store.maildir import open_user_store

T0 = datetime.datetime(2026, 3, 1, tzinfo=datetime.UTC).timestamp()

# (header, body length, internal date); sequence numbers 1..5 in this order.
MESSAGES: list[tuple[bytes, int, float]] = [
    (
        b'From: "Zed" <zed@z.org>\nTo: Bob <bob@x.org>\nCc: carol@x.org\n'
        b"Subject: Re: Banana\nDate: Tue, 03 Mar 2026 10:00:00 +0000\n",
        3000,
        T0 + 300,
    ),
    (
        b"From: =?utf-8?q?=C3=85sa?= <asa@y.org>\nTo: alice@x.org\nSubject: apple\n"
        b"Date: 31 Dec 2000 16:01:33 -0800\n",
        1000,
        T0 + 100,
    ),
    (
        b"From: BOB@x.org\nTo: Aaron <zzz@x.org>\nSubject: [list] Cherry (fwd)\n",
        5000,
        T0 + 200,
    ),
    (b"Subject: =?utf-8?q?banana?=\nDate: yesterday\n", 2000, T0),
    (
        b"From: alice@x.org\nSubject: APPLE\nDate: Mon, 01 Jan 2001 00:01:33 +0000\n",
        4000,
        T0 + 100,
    ),
]


@dataclass
class Box:
    mailbox: Mailbox
    snapshot: MailboxSnapshot
    uids: list[int]  # uids[seq - 1]

    def seqs(self, uids: list[int]) -> list[int]:
        return [self.uids.index(u) + 1 for u in uids]


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Box]:
    root = tmp_path_factory.mktemp("sort") / "alice"
    store = open_user_store(str(root), user="alice", fsync=False)
    mbox = store.open_mailbox("INBOX")
    # An expunged first message makes UIDs and sequence numbers differ.
    gone = mbox.append(b"Subject: gone\n\nx\n", ("\\Deleted",))
    mbox.expunge([gone])
    uids = [
        mbox.append(head + b"\n" + b"x" * size + b"\n", (), when) for head, size, when in MESSAGES
    ]
    yield Box(mbox, mbox.snapshot(), uids)
    mbox.close()


def run(box: Box, *criteria: str) -> list[int]:
    """SORT with criteria written as in the command ("REVERSE DATE"), as sequence numbers."""
    parsed = []
    for c in criteria:
        words = c.split()
        parsed.append((words[-1], words[0] == "REVERSE"))
    return box.seqs(sort_uids(parsed, box.uids, box.snapshot, box.mailbox.envelope))


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        (("ARRIVAL",), [4, 2, 5, 3, 1]),
        (("REVERSE ARRIVAL",), [1, 3, 2, 5, 4]),
        (("SIZE",), [2, 4, 1, 5, 3]),
        (("REVERSE SIZE",), [3, 5, 1, 4, 2]),
        (("DATE",), [2, 5, 4, 3, 1]),
        (("REVERSE DATE",), [1, 3, 4, 2, 5]),
        (("SUBJECT",), [2, 5, 1, 4, 3]),
        (("REVERSE SUBJECT", "DATE"), [3, 4, 1, 2, 5]),
        (("SUBJECT", "REVERSE SIZE"), [5, 2, 1, 4, 3]),
        (("FROM",), [4, 5, 2, 3, 1]),
        (("TO",), [4, 5, 2, 1, 3]),
        (("CC",), [2, 3, 4, 5, 1]),
        (("REVERSE CC",), [1, 2, 3, 4, 5]),
        (("DISPLAYFROM",), [4, 5, 3, 1, 2]),
        (("DISPLAYTO",), [4, 5, 3, 2, 1]),
    ],
)
def test_sort_keys(box: Box, criteria: tuple[str, ...], expected: list[int]) -> None:
    """Each key orders the mailbox as RFC 5256 section 3 / RFC 5957 section 3 say."""
    assert run(box, *criteria) == expected


def test_date_uses_utc_and_falls_back_to_internal_date() -> None:
    """The sent date is normalised to UTC; a missing or unparsable Date: gives INTERNALDATE."""
    jan1 = datetime.datetime(2001, 1, 1, 0, 1, 33, tzinfo=datetime.UTC).timestamp()
    assert sent_date("31 Dec 2000 16:01:33 -0800", 5.0) == jan1
    assert sent_date("Mon, 01 Jan 2001 00:01:33 +0000", 5.0) == jan1
    assert sent_date("Mon, 01 Jan 2001 00:01:33", 5.0) == jan1  # no zone: UTC (2.2)
    assert sent_date("Mon, 01 Jan 2001 00:01:33 +9999", 5.0) != 5.0  # odd zone, still a date
    for bad in (None, "", "yesterday", "32 Jan 2001 00:00:00 +0000", "1 Foo 2001 1:2:3"):
        assert sent_date(bad, 5.0) == 5.0


def test_subset_and_unknown_uids(box: Box) -> None:
    """Only the given messages are sorted; UIDs outside the snapshot are ignored."""
    uids = [box.uids[0], box.uids[2], box.uids[4], 999_999]
    got = sort_uids([("SUBJECT", False)], uids, box.snapshot, box.mailbox.envelope)
    assert box.seqs(got) == [5, 1, 3]


def test_record_keys_load_no_envelope(box: Box) -> None:
    """ARRIVAL and SIZE come from the index records alone: no envelope is loaded."""

    def refuse(uid: int) -> Envelope:
        raise AssertionError("envelope loaded")

    got = sort_uids([("SIZE", True), ("ARRIVAL", False)], box.uids, box.snapshot, refuse)
    assert box.seqs(got) == [3, 5, 1, 4, 2]


def test_envelope_keys_open_no_message_file(box: Box) -> None:
    """With the store's envelope cache intact, sorting by header keys opens no message file."""
    mailbox: Any = box.mailbox

    def refuse(*args: Any) -> Any:
        raise AssertionError("message file opened")

    mailbox.open_message = refuse
    mailbox.message = refuse
    try:
        assert run(box, "SUBJECT", "DATE", "FROM", "DISPLAYTO") == [5, 2, 4, 1, 3]
    finally:
        del mailbox.open_message
        del mailbox.message


def test_expunged_messages_are_dropped(box: Box) -> None:
    """A message expunged by another session while sorting is left out, not an error."""

    def load(uid: int) -> Envelope:
        if uid == box.uids[1]:
            raise MailError(ErrorKind.EXPUNGED, "Message was expunged")
        return box.mailbox.envelope(uid)

    got = sort_uids([("SUBJECT", False)], box.uids, box.snapshot, load)
    assert box.seqs(got) == [5, 1, 4, 3]


def test_other_store_errors_propagate(box: Box) -> None:
    """A store failure other than an expunge reaches the caller (it answers NO)."""

    def load(uid: int) -> Envelope:
        raise MailError(ErrorKind.TEMP, "Internal error")

    with pytest.raises(MailError):
        sort_uids([("FROM", False)], box.uids, box.snapshot, load)


def test_unknown_key_and_empty_input(box: Box) -> None:
    """An unknown key is refused; no messages sort to an empty list."""
    with pytest.raises(UnknownSortKey):
        sort_uids([("COLOR", False)], box.uids, box.snapshot, box.mailbox.envelope)
    assert sort_uids([("DATE", False)], [], box.snapshot, box.mailbox.envelope) == []


def test_fast_date_path_agrees_with_the_general_parser() -> None:
    """Common Date: shapes parse to the same moment as email.utils does for them."""
    rng = random.Random(2822)
    zones = ["+0000", "-0800", "+0530", "GMT", "UT", "Z", "+0100 (CET)", "EST", ""]
    for _ in range(500):
        when = datetime.datetime(
            rng.randint(1970, 2037), rng.randint(1, 12), rng.randint(1, 28),
            rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59),
        )  # fmt: skip
        text = when.strftime(
            rng.choice(["%a, %d %b %Y %H:%M:%S", "%d %b %Y %H:%M:%S", "%d %b %Y %H:%M"])
        )
        text = f"{text} {rng.choice(zones)}".strip()
        parts = email.utils.parsedate_tz(text)
        assert parts is not None
        expected = calendar.timegm((*parts[:6], 0, 1, 0)) - (parts[9] or 0)
        assert sent_date(text, -1.0) == expected, text


def test_header_cache_path_matches_envelopes(box: Box) -> None:
    """DATE/SUBJECT sorts read from the header cache give the envelope order, loading none."""

    def refuse(uid: int) -> Envelope:
        raise AssertionError("envelope loaded")

    load_fields = fields_loader(box.mailbox)
    for criteria in (
        [("SUBJECT", False)],
        [("DATE", True)],
        [("SUBJECT", True), ("ARRIVAL", False)],
    ):
        expected = sort_uids(criteria, box.uids, box.snapshot, box.mailbox.envelope)
        got = sort_uids(criteria, box.uids, box.snapshot, refuse, load_fields=load_fields)
        assert got == expected
    # An address key still needs the envelope.
    got = sort_uids(
        [("FROM", False)], box.uids, box.snapshot, box.mailbox.envelope, load_fields=load_fields
    )
    assert box.seqs(got) == [4, 5, 2, 3, 1]
