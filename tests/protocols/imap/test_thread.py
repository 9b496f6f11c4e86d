"""RFC 5256 THREAD: ORDEREDSUBJECT and REFERENCES, step by step, and hostile input."""

from __future__ import annotations

import datetime
import random
import re
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from mailsuite.errors import ErrorKind, MailError
from mailsuite.protocols.imap.msgid import message_ids
from mailsuite.protocols.imap.thread import fields_loader, thread_uids
from mailsuite.protocols.imap.wire.thread_render import thread_response
from mailsuite.store.api import MailboxSnapshot, MessageRecord
from mailsuite.store.maildir import open_user_store

D0 = datetime.datetime(2026, 3, 1, tzinfo=datetime.UTC)


def date(minutes: int) -> str:
    """A Date: value ``minutes`` after D0."""
    return (D0 + datetime.timedelta(minutes=minutes)).strftime("%a, %d %b %Y %H:%M:%S +0000")


def uid_of(seq: int) -> int:
    return seq * 10 + 5  # UIDs differ from sequence numbers, as after expunges


class Mail:
    """Messages given as header dicts; sequence number = position + 1."""

    def __init__(self, *messages: Mapping[str, str], internal: list[float] | None = None) -> None:
        self.fields = {
            uid_of(i + 1): {k.lower(): [v] for k, v in m.items()} for i, m in enumerate(messages)
        }
        stamps = internal or [D0.timestamp() + 3600 * 24 * 30 + i for i in range(len(messages))]
        self.snapshot = MailboxSnapshot(
            name="INBOX",
            uidvalidity=1,
            uidnext=uid_of(len(messages) + 1),
            highestmodseq=1,
            messages=tuple(
                MessageRecord(uid_of(i + 1), frozenset(), 1, 100, stamps[i])
                for i in range(len(messages))
            ),
        )

    def load(self, uid: int) -> dict[str, list[str]]:
        return self.fields[uid]

    def thread(self, algorithm: str, uids: list[int] | None = None) -> bytes:
        """The ``* THREAD`` line in sequence numbers (a non-UID THREAD)."""
        chosen = list(self.fields) if uids is None else uids
        threads = thread_uids(algorithm, chosen, self.snapshot, self.load)
        return thread_response(threads, lambda uid: (uid - 5) // 10)


def msg(
    mid: str | None, subject: str, minutes: int, refs: str | None = None, **extra: str
) -> dict[str, str]:
    out = {"Subject": subject, "Date": date(minutes)}
    if mid is not None:
        out["Message-ID"] = mid
    if refs is not None:
        out["References"] = refs
    out.update({k.replace("_", "-"): v for k, v in extra.items()})
    return out


def test_references_basic_tree() -> None:
    """References build the tree; siblings sort by sent date (RFC 5256 5, steps 1 and 6)."""
    mail = Mail(
        msg("<1@x>", "meeting", 0),
        msg("<2@x>", "Re: meeting", 1, "<1@x>"),
        msg("<3@x>", "Re: meeting", 2, "<1@x> <2@x>"),
        msg("<4@x>", "Re: meeting", 3, "<1@x>"),
        msg("<5@x>", "other", 4),
    )
    assert mail.thread("REFERENCES") == b"* THREAD (1 (2 3)(4))(5)\r\n"


def test_missing_parent_below_a_message_is_pruned() -> None:
    """A dummy inside a thread is removed and its children promoted (step 3)."""
    mail = Mail(msg("<1@x>", "a", 0), msg("<2@x>", "b", 1, "<1@x> <gone@x>"))
    assert mail.thread("REFERENCES") == b"* THREAD (1 2)\r\n"


def test_top_level_dummy_keeps_two_children() -> None:
    """A top-level dummy with several children stays, rendered as nested lists (step 3)."""
    mail = Mail(msg("<1@x>", "a", 0, "<gone@x>"), msg("<2@x>", "b", 1, "<gone@x>"))
    assert mail.thread("REFERENCES") == b"* THREAD ((1)(2))\r\n"


def test_top_level_dummy_with_one_child_is_promoted() -> None:
    """A top-level dummy with one child gives way to that child (step 3)."""
    mail = Mail(msg("<1@x>", "a", 0, "<gone@x>"), msg("<2@x>", "b", 1, "<1@x>"))
    assert mail.thread("REFERENCES") == b"* THREAD (1 2)\r\n"


def test_subject_gathering() -> None:
    """Replies join the original by base subject; equal standing gives a dummy (step 5)."""
    mail = Mail(
        msg("<1@x>", "Re: hello", 0),
        msg("<2@x>", "hello", 1),
        msg("<3@x>", "RE: Hello", 2),
        msg("<4@x>", "Fwd: greetings", 3),
        msg("<5@x>", "Re: greetings", 4),
        msg("<6@x>", "news", 5),
        msg("<7@x>", "news", 6),
        msg("<8@x>", "", 7),
        msg("<9@x>", "Re:", 8),
    )
    assert mail.thread("REFERENCES") == (b"* THREAD (2 (1)(3))((4)(5))((6)(7))(8)(9)\r\n")


def test_subject_gathering_merges_dummies_and_adopts_messages() -> None:
    """Two dummies with one subject merge; a real message joins a dummy's children (5 D)."""
    mail = Mail(
        msg("<1@x>", "x", 0, "<gone1@x>"),
        msg("<2@x>", "x", 1, "<gone1@x>"),
        msg("<3@x>", "Re: x", 2, "<gone2@x>"),
        msg("<4@x>", "x", 3, "<gone2@x>"),
        msg("<5@x>", "topic", 4),
        msg("<6@x>", "topic", 5, "<gone3@x>"),
        msg("<7@x>", "topic", 6, "<gone3@x>"),
    )
    assert mail.thread("REFERENCES") == b"* THREAD ((1)(2)(3)(4))((5)(6)(7))\r\n"


def test_in_reply_to_and_normalised_ids() -> None:
    """Without usable References the first In-Reply-To id counts; quoting is normalised."""
    mail = Mail(
        msg('<"abc"@x>', "a", 0),
        msg("<2@x>", "b", 1, "junk without ids", In_Reply_To="<abc@x> <2@x>"),
        msg("<3@x>", "c", 2, In_Reply_To='"Joe" <2@x>'),
        msg("<4@x>", "d", 3, "<abc@x>\t(comment <9@x>)"),
    )
    assert mail.thread("REFERENCES") == b"* THREAD (1 (2 3)(4))\r\n"


def test_loops_self_references_and_duplicates() -> None:
    """Loops are not created, self references are ignored, duplicate ids stay with the first."""
    mail = Mail(
        msg("<a@x>", "loop a", 0, "<b@x>"),
        msg("<b@x>", "loop b", 1, "<a@x>"),
        msg("<s@x>", "self", 2, "<s@x>"),
        msg("<d@x>", "first", 3),
        msg("<d@x>", "second", 4),
        msg("<e@x>", "third", 5, "<d@x>"),
        msg(None, "no id", 6),
    )
    assert mail.thread("REFERENCES") == b"* THREAD (2 1)(3)(4 6)(5)(7)\r\n"


def test_own_references_override_a_truncated_list() -> None:
    """A message's own last reference replaces the parent another message implied (1 B)."""
    mail = Mail(
        msg("<m3@x>", "c", 0, "<m1@x> <m2@x>"),
        msg("<m2@x>", "b", 1, "<mX@x>"),
    )
    assert mail.thread("REFERENCES") == b"* THREAD (2 1)\r\n"


def test_sent_date_order_with_zones_and_fallback() -> None:
    """Threads sort by UTC sent date, INTERNALDATE standing in, ties by sequence (2.2)."""
    t = datetime.datetime(2001, 1, 1, 10, 30, tzinfo=datetime.UTC).timestamp()
    mail = Mail(
        {"Subject": "one", "Date": "Mon, 01 Jan 2001 10:00:00 +0000"},
        {"Subject": "two", "Date": "Mon, 01 Jan 2001 09:00:00 -0200"},
        {"Subject": "three"},
        {"Subject": "four", "Date": "Mon, 01 Jan 2001 10:00:00 +0000"},
        internal=[0, 0, t, 0],
    )
    assert mail.thread("REFERENCES") == b"* THREAD (1)(4)(3)(2)\r\n"
    assert mail.thread("ORDEREDSUBJECT") == b"* THREAD (1)(4)(3)(2)\r\n"


def test_ordered_subject() -> None:
    """ORDEREDSUBJECT groups by base subject; later messages are children of the first."""
    mail = Mail(
        msg(None, "hello", 2),
        msg(None, "Re: hello", 1),
        msg(None, "world", 0),
        msg(None, "HELLO", 3),
        msg(None, "", 4),
        msg(None, "", 5),
    )
    assert mail.thread("ORDEREDSUBJECT") == b"* THREAD (3)(2 (1)(4))(5 6)\r\n"


def test_subset_expunged_and_empty() -> None:
    """Only the searched messages thread; an expunged one is left out; none gives ``* THREAD``."""
    mail = Mail(msg("<1@x>", "a", 0), msg("<2@x>", "b", 1, "<1@x>"), msg("<3@x>", "c", 2, "<2@x>"))
    assert mail.thread("REFERENCES", [uid_of(1), uid_of(3)]) == b"* THREAD (1)(3)\r\n"
    assert mail.thread("REFERENCES", []) == b"* THREAD\r\n"
    assert mail.thread("ORDEREDSUBJECT", []) == b"* THREAD\r\n"

    def load(uid: int) -> dict[str, list[str]]:
        if uid == uid_of(2):
            raise MailError(ErrorKind.EXPUNGED, "Message was expunged")
        return mail.load(uid)

    threads = thread_uids("REFERENCES", list(mail.fields), mail.snapshot, load)
    assert thread_response(threads) == b"* THREAD (15)(35)\r\n"


def test_unknown_algorithm() -> None:
    """An algorithm other than the two of RFC 5256 is refused."""
    with pytest.raises(ValueError):
        thread_uids("JWZ", [], Mail().snapshot, Mail().load)


def _numbers(line: bytes) -> list[int]:
    return [int(n) for n in re.findall(rb"\d+", line)]


def _balanced(line: bytes) -> bool:
    depth = 0
    for c in line:
        depth += {40: 1, 41: -1}.get(c, 0)
        if depth < 0:
            return False
    return depth == 0


def test_thousand_hostile_messages() -> None:
    """1,000 messages with loops, missing parents, duplicate and absent ids thread without error."""
    rng = random.Random(5256)
    messages = []
    for _ in range(1000):
        mid = None if rng.random() < 0.05 else f"<{rng.randrange(900)}@x>"  # duplicates
        refs = " ".join(f"<{rng.randrange(1100)}@x>" for _ in range(rng.randrange(6)))
        subject = rng.choice(["a", "Re: a", "b", "Fwd: b", "[l] c", "", "Re: Re: d"])
        extra = {"In_Reply_To": f"<{rng.randrange(1100)}@x>"} if rng.random() < 0.3 else {}
        messages.append(msg(mid, subject, rng.randrange(50), refs or None, **extra))
    mail = Mail(*messages)
    for algorithm in ("REFERENCES", "ORDEREDSUBJECT"):
        line = mail.thread(algorithm)
        assert line.startswith(b"* THREAD (") and line.endswith(b")\r\n")
        assert _balanced(line)
        assert sorted(_numbers(line)) == list(range(1, 1001))  # each message exactly once


def test_long_chain_and_deep_branching_need_no_recursion() -> None:
    """A 1,000-message reply chain and a 1,000-deep branching thread render without recursion."""
    chain = [msg("<0@x>", "c", 0)]
    for i in range(1, 1000):
        chain.append(msg(f"<{i}@x>", "Re: c", i, " ".join(f"<{j}@x>" for j in range(i))))
    line = Mail(*chain).thread("REFERENCES")
    assert line == b"* THREAD (" + b" ".join(b"%d" % i for i in range(1, 1001)) + b")\r\n"
    # Each message answers the previous one and gets one leaf reply too: nesting 500 deep.
    deep = [msg("<n0@x>", "d", 0)]
    for i in range(1, 1000):
        parent = i - 1 if i % 2 else i - 2
        deep.append(msg(f"<n{i}@x>", "Re: d", i, f"<n{max(parent, 0)}@x>"))
    line = Mail(*deep).thread("REFERENCES")
    assert _balanced(line) and sorted(_numbers(line)) == list(range(1, 1001))
    assert line.count(b"(") == 1 + 2 * 499


def test_message_id_parsing() -> None:
    """msg-ids are found between comments and phrases and normalised (RFC 5256 5)."""
    assert message_ids('<"01KF8JCEOCBS0045PS"@xxx.yyy.com>') == ["01KF8JCEOCBS0045PS@xxx.yyy.com"]
    assert message_ids("<a@b> (c <x@y>) <c\r\n @d> <> <unclosed <e@f>") == ["a@b", "c@d", "e@f"]
    assert message_ids("<c\r\n @d> <> <unclosed <e@f>") == ["c@d", "e@f"]  # regex fast path
    assert message_ids("<a@b>\r\n <c@d>") == ["a@b", "c@d"]
    assert message_ids('"Joe <j@x>" <k@x>') == ["k@x"]
    assert message_ids('<"a\\"b"@x>') == ['a"b@x']
    assert message_ids("bare@id") == []
    assert message_ids("bare@id", loose=True) == ["bare@id"]
    assert message_ids(None) == [] and message_ids("") == []


@pytest.fixture
def store_box(tmp_path: Any) -> Iterator[Any]:
    store = open_user_store(str(tmp_path / "alice"), user="alice", fsync=False)
    box = store.open_mailbox("INBOX")
    yield box
    box.close()


def test_real_store_header_cache_opens_no_file(store_box: Any) -> None:
    """On a Maildir store THREAD reads the header cache, never a message file."""
    raw = [
        b"Message-ID: <1@x>\nSubject: plan\nDate: " + date(0).encode() + b"\n\nbody\n",
        b"Message-ID: <2@x>\nSubject: Re: plan\nIn-Reply-To: <1@x>\n"
        b"Date: " + date(1).encode() + b"\n\nbody\n",
        b"Message-ID: <3@x>\nSubject: Re: plan\nReferences: <1@x>\n <2@x>\n"
        b"Date: " + date(2).encode() + b"\n\nbody\n",
        b"Message-ID: <4@x>\nSubject: =?utf-8?q?Re=3A_plan?=\nDate: "
        + date(3).encode()
        + b"\n\nx\n",
    ]
    uids = [store_box.append(r) for r in raw]
    snap = store_box.snapshot()

    def refuse(*args: Any) -> Any:
        raise AssertionError("message file opened")

    store_box.open_message = refuse
    store_box.message = refuse
    try:
        threads = thread_uids("REFERENCES", uids, snap, fields_loader(store_box))
    finally:
        del store_box.open_message
        del store_box.message
    assert thread_response(threads) == b"* THREAD (%d (%d %d)(%d))\r\n" % tuple(uids)


def test_fields_loader_falls_back_to_the_message(store_box: Any) -> None:
    """A store without a header cache is read through its lazily parsed messages."""
    uid = store_box.append(b"Message-ID: <1@x>\nReferences: <0@x>\nSubject: s\n\nx\n")

    class Plain:
        def message(self, u: int) -> Any:
            return store_box.message(u)

    fields = fields_loader(Plain())(uid)
    assert fields["message-id"] == ["<1@x>"] and fields["references"] == ["<0@x>"]
    assert fields["date"] == []
