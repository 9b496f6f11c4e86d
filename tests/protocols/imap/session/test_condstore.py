"""CONDSTORE in the session (RFC 7162 3.1): enabling, MODSEQ, CHANGEDSINCE, UNCHANGEDSINCE."""

from __future__ import annotations

import re
from typing import Any

from .conftest import lines

MSG = b"From: a@example.org\r\nSubject: condstore\r\n\r\nbody\r\n"


def highest(reply: bytes) -> int:
    """The HIGHESTMODSEQ a SELECT (or an untagged OK) announced."""
    m = re.search(rb"\[HIGHESTMODSEQ (\d+)\]", reply)
    assert m is not None, reply
    return int(m.group(1))


def modseq_of(imapenv: Any, session: Any, seq: int) -> int:
    """The MODSEQ of message ``seq`` as FETCH reports it."""
    reply = imapenv.say(session, b"m%d FETCH %d (MODSEQ)" % (seq, seq))
    m = re.search(rb"\* %d FETCH \(MODSEQ \((\d+)\)\)" % seq, reply)
    assert m is not None, reply
    return int(m.group(1))


def with_messages(imapenv: Any, count: int, *, select: bytes = b"SELECT INBOX") -> tuple[Any, int]:
    """A logged-in session that selected INBOX holding ``count`` messages, and its HIGHESTMODSEQ."""
    for _ in range(count):
        imapenv.deliver(MSG)
    session = imapenv.login()
    reply = imapenv.say(session, b"s1 " + select)
    assert b"s1 OK" in reply, reply
    return session, highest(reply)


def test_enable_lists_what_it_turned_on(imapenv) -> None:
    """ENABLE answers ENABLED with the newly enabled names; QRESYNC brings CONDSTORE silently."""
    session = imapenv.login()
    assert lines(imapenv.say(session, b"e1 ENABLE QRESYNC X-FOO")) == [
        b"* ENABLED QRESYNC",
        b"e1 OK Enabled.",
    ]
    assert session.condstore and session.qresync
    assert lines(imapenv.say(session, b"e2 ENABLE CONDSTORE QRESYNC")) == [
        b"* ENABLED",
        b"e2 OK Enabled.",
    ]


def test_capabilities_after_login(imapenv) -> None:
    """CONDSTORE, QRESYNC, ESEARCH, SEARCHRES, QUOTA and STATUS=SIZE are advertised after login."""
    session = imapenv.login()
    caps = session.capabilities()
    for cap in ("CONDSTORE", "QRESYNC", "ESEARCH", "SEARCHRES", "QUOTA", "STATUS=SIZE"):
        assert cap in caps
    assert "CONDSTORE" not in imapenv.session().capabilities()


def test_select_condstore_enables_modseq_in_store_responses(imapenv) -> None:
    """SELECT (CONDSTORE) enables CONDSTORE: STORE's FETCH carries the new MODSEQ."""
    session, h = with_messages(imapenv, 2, select=b"SELECT INBOX (CONDSTORE)")
    assert session.condstore
    reply = imapenv.say(session, b"a1 STORE 2 +FLAGS (\\Flagged)")
    m = re.fullmatch(
        rb"\* 2 FETCH \(FLAGS \(\\Flagged \\Recent\) MODSEQ \((\d+)\)\)\r\n"
        rb"a1 OK Store completed\.\r\n",
        reply,
    )
    assert m is not None, reply
    assert int(m.group(1)) > h


def test_fetch_modseq_enables_condstore_and_reports_highestmodseq(imapenv) -> None:
    """FETCH MODSEQ is CONDSTORE-enabling; the first one sends HIGHESTMODSEQ before its data."""
    session, h = with_messages(imapenv, 1)
    assert not session.condstore
    reply = imapenv.say(session, b"a1 FETCH 1 (MODSEQ)")
    assert lines(reply) == [
        b"* OK [HIGHESTMODSEQ %d] Highest" % h,
        b"* 1 FETCH (MODSEQ (%d))" % modseq_of(imapenv, session, 1),
        b"a1 OK Fetch completed.",
    ]
    assert session.condstore


def test_fetch_changedsince_returns_only_changed_messages(imapenv) -> None:
    """FETCH (CHANGEDSINCE n) returns only messages whose MODSEQ is above n, with MODSEQ added."""
    session, h = with_messages(imapenv, 4)
    imapenv.say(session, b"a1 STORE 3 +FLAGS.SILENT (\\Answered)")
    m3 = modseq_of(imapenv, session, 3)
    reply = imapenv.say(session, b"a2 FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % h)
    assert lines(reply) == [
        b"* 3 FETCH (FLAGS (\\Answered \\Recent) MODSEQ (%d))" % m3,
        b"a2 OK Fetch completed.",
    ]
    assert imapenv.say(session, b"a3 FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % m3) == (
        b"a3 OK Fetch completed.\r\n"
    )


def test_store_unchangedsince_reports_modified_sequence_numbers(imapenv) -> None:
    """RFC 7162 3.1.3 (d105): messages changed since n fail, [MODIFIED] names their numbers,
    and the one that passed is reported with its MODSEQ despite .SILENT."""
    session, h = with_messages(imapenv, 3, select=b"SELECT INBOX (CONDSTORE)")
    other = imapenv.selected()
    imapenv.say(other, b"o1 STORE 1,3 +FLAGS.SILENT (\\Seen)")
    reply = imapenv.say(
        session, b"d105 STORE 1:3 (UNCHANGEDSINCE %d) +FLAGS.SILENT (\\Deleted)" % h
    )
    # The other session's change took MODSEQ h+1, ours h+2; the other session's changes
    # follow as unsolicited FETCH with UID and MODSEQ (CONDSTORE is on).
    assert lines(reply) == [
        b"* 2 FETCH (MODSEQ (%d))" % (h + 2),
        b"* 1 FETCH (FLAGS (\\Seen \\Recent) UID 1 MODSEQ (%d))" % (h + 1),
        b"* 3 FETCH (FLAGS (\\Seen \\Recent) UID 3 MODSEQ (%d))" % (h + 1),
        b"d105 OK [MODIFIED 1,3] Conditional STORE failed",
    ]


def test_uid_store_unchangedsince_flags_already_set_still_reports_modseq(imapenv) -> None:
    """RFC 7162 3.1.3 (a104): a message that already had the flags passes the test unchanged and
    is still reported, with UID and its old MODSEQ, even with .SILENT."""
    session, _h = with_messages(imapenv, 2)
    imapenv.say(session, b"a1 STORE 2 +FLAGS.SILENT (\\Deleted $Processed)")
    m2 = modseq_of(imapenv, session, 2)
    reply = imapenv.say(
        session, b"a104 UID STORE 2 (UNCHANGEDSINCE %d) +FLAGS.SILENT (\\Deleted $Processed)" % m2
    )
    assert lines(reply) == [b"* 2 FETCH (UID 2 MODSEQ (%d))" % m2, b"a104 OK Store completed."]


def test_store_unchangedsince_zero_always_fails(imapenv) -> None:
    """UNCHANGEDSINCE 0 fails for every existing message (RFC 7162 3.1.3); nothing changes.

    STORE UNCHANGEDSINCE is CONDSTORE-enabling, so HIGHESTMODSEQ comes first.
    """
    session, h = with_messages(imapenv, 2)
    reply = imapenv.say(session, b"a1 UID STORE 1:2 (UNCHANGEDSINCE 0) +FLAGS (\\Seen)")
    assert lines(reply) == [
        b"* OK [HIGHESTMODSEQ %d] Highest" % h,
        b"a1 OK [MODIFIED 1:2] Conditional STORE failed",
    ]
    assert b"\\Seen" not in imapenv.say(session, b"a2 FETCH 1:2 (FLAGS)")


def test_silent_store_with_condstore_reports_modseq_of_changes_only(imapenv) -> None:
    """Once CONDSTORE is on, STORE .SILENT reports MODSEQ for changed messages only."""
    session, _h = with_messages(imapenv, 2, select=b"SELECT INBOX (CONDSTORE)")
    imapenv.say(session, b"a1 STORE 1 +FLAGS.SILENT (\\Seen)")
    reply = imapenv.say(session, b"a2 STORE 1:2 +FLAGS.SILENT (\\Seen)")
    got = lines(reply)
    assert len(got) == 2 and re.fullmatch(rb"\* 2 FETCH \(MODSEQ \(\d+\)\)", got[0]), got


def test_fetch_setting_seen_reports_uid_and_modseq(imapenv) -> None:
    """With CONDSTORE on, a FETCH that sets \\Seen also reports UID and the new MODSEQ."""
    session, h = with_messages(imapenv, 1, select=b"SELECT INBOX (CONDSTORE)")
    reply = imapenv.say(session, b"a1 FETCH 1 (BODY[TEXT])")
    m = re.fullmatch(
        rb"\* 1 FETCH \(BODY\[TEXT\] \{6\}\r\nbody\r\n FLAGS \(\\Seen \\Recent\) UID 1"
        rb" MODSEQ \((\d+)\)\)\r\na1 OK Fetch completed\.\r\n",
        reply,
    )
    assert m is not None, reply
    assert int(m.group(1)) > h


def test_unsolicited_fetch_carries_modseq_once_enabled(imapenv) -> None:
    """A flag change by another session is reported with FLAGS, UID and MODSEQ (RFC 7162 3.1.4)."""
    session, _h = with_messages(imapenv, 2)
    imapenv.say(session, b"e1 FETCH 1 (MODSEQ)")
    other = imapenv.selected()
    imapenv.say(other, b"o1 STORE 2 +FLAGS.SILENT (\\Flagged)")
    m2 = modseq_of(imapenv, other, 2)
    assert lines(imapenv.say(session, b"n1 NOOP")) == [
        b"* 2 FETCH (FLAGS (\\Flagged \\Recent) UID 2 MODSEQ (%d))" % m2,
        b"n1 OK NOOP completed.",
    ]


def test_search_modseq_reports_highest_modseq_of_matches(imapenv) -> None:
    """SEARCH MODSEQ n answers the matches and their highest MODSEQ (RFC 7162 3.1.5)."""
    session, h = with_messages(imapenv, 3)
    imapenv.say(session, b"a1 STORE 2 +FLAGS.SILENT (\\Seen)")
    m2 = modseq_of(imapenv, session, 2)
    assert lines(imapenv.say(session, b"a2 SEARCH MODSEQ %d" % (h + 1))) == [
        b"* SEARCH 2 (MODSEQ %d)" % m2,
        b"a2 OK Search completed.",
    ]
    assert lines(imapenv.say(session, b"a3 SEARCH MODSEQ %d" % (m2 + 1))) == [
        b"* SEARCH",
        b"a3 OK Search completed.",
    ]
    assert session.condstore


def test_status_highestmodseq_and_size(imapenv) -> None:
    """STATUS reports HIGHESTMODSEQ (RFC 7162 3.1.6) and SIZE (RFC 8438), the sum of RFC822.SIZE."""
    session, h = with_messages(imapenv, 2)
    assert lines(imapenv.say(session, b"a1 STATUS INBOX (HIGHESTMODSEQ SIZE MESSAGES)")) == [
        b"* STATUS INBOX (HIGHESTMODSEQ %d SIZE %d MESSAGES 2)" % (h, 2 * len(MSG)),
        b"a1 OK Status completed.",
    ]


def test_conditional_store_on_expunged_message_is_no_with_modified(imapenv) -> None:
    """A conditional STORE naming a message expunged elsewhere answers NO, still with
    [MODIFIED] for the one that failed the test (RFC 7162 3.1.3, RFC 2180 4.2)."""
    session, h = with_messages(imapenv, 3, select=b"SELECT INBOX (CONDSTORE)")
    other = imapenv.selected()
    imapenv.say(other, b"o1 STORE 1 +FLAGS.SILENT (\\Deleted)")
    imapenv.say(other, b"o2 EXPUNGE")
    imapenv.say(other, b"o3 STORE 2 +FLAGS.SILENT (\\Flagged)")  # our message 3
    reply = imapenv.say(session, b"a1 STORE 1:3 (UNCHANGEDSINCE %d) +FLAGS.SILENT (\\Seen)" % h)
    got = lines(reply)
    assert re.fullmatch(rb"\* 2 FETCH \(MODSEQ \(\d+\)\)", got[0]), got
    assert got[-1] == b"a1 NO [MODIFIED 3] Some of the requested messages no longer exist."
    # The expunge is announced by the next command that may do so.
    assert lines(imapenv.say(session, b"n1 NOOP"))[0] == b"* 1 EXPUNGE"
