"""ESEARCH (RFC 4731), SEARCHRES (RFC 5182), SORT and THREAD (RFC 5256) in the session."""

from __future__ import annotations

from typing import Any

from .conftest import lines


def _msg(subject: str, extra: str = "") -> bytes:
    return (
        f"From: a@example.org\r\nSubject: {subject}\r\n{extra}"
        f"Date: Mon, 2 Jan 2023 10:00:00 +0000\r\n\r\nbody\r\n"
    ).encode()


def _mailbox(imapenv: Any) -> Any:
    """INBOX with 6 messages, 2, 3, 5 and 6 \\Flagged; selected."""
    for i in range(6):
        flags = ("\\Flagged",) if i + 1 in (2, 3, 5, 6) else ()
        imapenv.deliver(_msg(f"m{i + 1}"), flags=flags)
    return imapenv.selected()


def test_esearch_min_max_all_count(imapenv) -> None:
    """SEARCH RETURN (MIN MAX ALL COUNT) answers one ESEARCH with the tag (RFC 4731 3.1)."""
    session = _mailbox(imapenv)
    assert lines(imapenv.say(session, b"A282 SEARCH RETURN (MIN MAX ALL COUNT) FLAGGED")) == [
        b'* ESEARCH (TAG "A282") MIN 2 MAX 6 ALL 2:3,5:6 COUNT 4',
        b"A282 OK Search completed.",
    ]
    assert lines(imapenv.say(session, b"A283 UID SEARCH RETURN () FLAGGED")) == [
        b'* ESEARCH (TAG "A283") UID ALL 2:3,5:6',
        b"A283 OK Search completed.",
    ]


def test_esearch_nothing_matched(imapenv) -> None:
    """With no match MIN, MAX and ALL are left out and COUNT is 0 (RFC 4731 3.1)."""
    session = _mailbox(imapenv)
    assert lines(imapenv.say(session, b"a1 SEARCH RETURN (MIN COUNT) DELETED")) == [
        b'* ESEARCH (TAG "a1") COUNT 0',
        b"a1 OK Search completed.",
    ]


def test_searchres_save_and_use(imapenv) -> None:
    """SAVE alone answers no ESEARCH, and ``$`` then names the saved messages (RFC 5182 2)."""
    session = _mailbox(imapenv)
    assert (
        imapenv.say(session, b"a1 SEARCH RETURN (SAVE) FLAGGED") == b"a1 OK Search completed.\r\n"
    )
    assert lines(imapenv.say(session, b"a2 FETCH $ (UID)")) == [
        b"* 2 FETCH (UID 2)",
        b"* 3 FETCH (UID 3)",
        b"* 5 FETCH (UID 5)",
        b"* 6 FETCH (UID 6)",
        b"a2 OK Fetch completed.",
    ]
    assert lines(imapenv.say(session, b"a3 UID SEARCH UID $ NOT 3")) == [
        b"* SEARCH 2 5 6",
        b"a3 OK Search completed.",
    ]


def test_searchres_with_min_max_saves_only_those(imapenv) -> None:
    """SAVE with MIN and MAX alone saves just the lowest and highest match (RFC 5182 2.1)."""
    session = _mailbox(imapenv)
    assert lines(imapenv.say(session, b"a1 SEARCH RETURN (SAVE MIN MAX) FLAGGED")) == [
        b'* ESEARCH (TAG "a1") MIN 2 MAX 6',
        b"a1 OK Search completed.",
    ]
    assert lines(imapenv.say(session, b"a2 SEARCH $")) == [
        b"* SEARCH 2 6",
        b"a2 OK Search completed.",
    ]
    imapenv.say(session, b"a3 SEARCH RETURN (SAVE MIN COUNT) FLAGGED")
    assert lines(imapenv.say(session, b"a4 SEARCH $")) == [
        b"* SEARCH 2 3 5 6",
        b"a4 OK Search completed.",
    ]


def test_saved_result_follows_expunge(imapenv) -> None:
    """After an EXPUNGE, ``$`` names the saved messages that are left, by their new numbers."""
    session = _mailbox(imapenv)
    imapenv.say(session, b"a1 SEARCH RETURN (SAVE) FLAGGED")
    imapenv.say(session, b"a2 STORE 1:2 +FLAGS.SILENT (\\Deleted)")
    imapenv.say(session, b"a3 EXPUNGE")
    assert lines(imapenv.say(session, b"a4 SEARCH $")) == [
        b"* SEARCH 1 3 4",
        b"a4 OK Search completed.",
    ]


def test_sort_and_uid_sort(imapenv) -> None:
    """SORT (REVERSE SUBJECT) orders by base subject, as numbers or UIDs (RFC 5256)."""
    for subject in ("b", "Re: a", "c"):
        imapenv.deliver(_msg(subject))
    session = imapenv.selected()
    assert lines(imapenv.say(session, b"a1 SORT (REVERSE SUBJECT) UTF-8 ALL")) == [
        b"* SORT 3 1 2",
        b"a1 OK Sort completed.",
    ]
    assert lines(imapenv.say(session, b"a2 UID SORT (SUBJECT) UTF-8 NOT SUBJECT c")) == [
        b"* SORT 2 1",
        b"a2 OK Sort completed.",
    ]
    reply = imapenv.say(session, b"a3 SORT (ARRIVAL) ISO-8859-1 ALL")
    assert reply.startswith(b"a3 NO [BADCHARSET (UTF-8 US-ASCII)] ")


def test_thread_references_and_orderedsubject(imapenv) -> None:
    """THREAD REFERENCES links replies to their parents; ORDEREDSUBJECT groups by subject."""
    imapenv.deliver(_msg("topic", "Message-ID: <1@x>\r\n"))
    imapenv.deliver(_msg("other", "Message-ID: <2@x>\r\n"))
    imapenv.deliver(_msg("Re: topic", "Message-ID: <3@x>\r\nIn-Reply-To: <1@x>\r\n"))
    session = imapenv.selected()
    assert lines(imapenv.say(session, b"a1 THREAD REFERENCES UTF-8 ALL")) == [
        b"* THREAD (1 3)(2)",
        b"a1 OK Thread completed.",
    ]
    assert lines(imapenv.say(session, b"a2 UID THREAD ORDEREDSUBJECT UTF-8 ALL")) == [
        b"* THREAD (1 3)(2)",  # same Date: sequence order breaks the tie
        b"a2 OK Thread completed.",
    ]
