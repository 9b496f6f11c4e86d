"""STORE, COPY, MOVE (and UID forms) and SEARCH on the session."""

from __future__ import annotations

from .conftest import lines

MSG = b"From: a@example.org\r\nSubject: s\r\n\r\nbody\r\n"


def test_store_add_keeps_seen(imapenv) -> None:
    """STORE +FLAGS (\\Seen \\Deleted) on a \\Seen message keeps \\Seen and adds \\Deleted."""
    imapenv.deliver(MSG, flags=("\\Seen",))
    session = imapenv.selected()
    reply = imapenv.say(session, b"a1 STORE 1 +FLAGS (\\Seen \\Deleted)")
    assert lines(reply) == [
        b"* 1 FETCH (FLAGS (\\Deleted \\Seen \\Recent))",
        b"a1 OK Store completed.",
    ]
    rec = imapenv.store().open_mailbox("INBOX", readonly=True).snapshot().messages[0]
    assert rec.flags == frozenset({"\\Seen", "\\Deleted"})


def test_store_replace_remove_and_keywords(imapenv) -> None:
    """FLAGS replaces, -FLAGS removes, keywords are kept as written; UID STORE adds UID."""
    imapenv.deliver(MSG, flags=("\\Seen", "\\Flagged"))
    session = imapenv.selected()
    assert lines(imapenv.say(session, b"a1 STORE 1 FLAGS ($Work \\Answered)"))[0] == (
        b"* 1 FETCH (FLAGS (\\Answered \\Recent $Work))"
    )
    assert lines(imapenv.say(session, b"a2 UID STORE 1 -FLAGS ($Work)"))[0] == (
        b"* 1 FETCH (FLAGS (\\Answered \\Recent) UID 1)"
    )


def test_store_silent(imapenv) -> None:
    """.SILENT suppresses the FETCH, and the next NOOP does not echo our own change."""
    imapenv.deliver(MSG)
    session = imapenv.selected()
    assert imapenv.say(session, b"a1 STORE 1 +FLAGS.SILENT (\\Flagged)") == (
        b"a1 OK Store completed.\r\n"
    )
    assert imapenv.say(session, b"a2 NOOP") == b"a2 OK NOOP completed.\r\n"


def test_no_expunge_during_store(imapenv) -> None:
    """STORE while another session expunged a message sends no EXPUNGE (RFC 3501 7.4.1)."""
    imapenv.deliver(MSG)
    imapenv.deliver(MSG)
    session = imapenv.selected()
    other = imapenv.selected()
    imapenv.say(other, b"b1 STORE 1 +FLAGS.SILENT (\\Deleted)")
    imapenv.say(other, b"b2 EXPUNGE")
    reply = imapenv.say(session, b"a1 STORE 2 +FLAGS (\\Flagged)")
    assert b"EXPUNGE" not in reply
    assert lines(reply)[-1] == b"a1 OK Store completed."
    assert b"* 1 EXPUNGE" in imapenv.say(session, b"a2 NOOP")


def test_copy_with_copyuid(imapenv) -> None:
    """COPY answers [COPYUID uidvalidity src dst] with the sets in matching order (RFC 4315)."""
    for _ in range(3):
        imapenv.deliver(MSG)
    store = imapenv.store()
    store.create_mailbox("Dest")
    imapenv.deliver(MSG, mailbox="Dest")
    dest_validity = store.open_mailbox("Dest", readonly=True).snapshot().uidvalidity
    session = imapenv.selected()
    reply = imapenv.say(session, b"a1 COPY 1,3 Dest")
    assert reply == b"a1 OK [COPYUID %d 1,3 2:3] Copy completed.\r\n" % dest_validity
    reply = imapenv.say(session, b"a2 UID COPY 2 Dest")
    assert reply == b"a2 OK [COPYUID %d 2 4] Copy completed.\r\n" % dest_validity


def test_copy_to_missing_mailbox_says_trycreate(imapenv) -> None:
    """COPY to a mailbox that does not exist is NO [TRYCREATE]."""
    imapenv.deliver(MSG)
    session = imapenv.selected()
    assert imapenv.say(session, b"a1 COPY 1 Nowhere").startswith(b"a1 NO [TRYCREATE] ")


def test_move(imapenv) -> None:
    """MOVE sends COPYUID in an untagged OK, then EXPUNGE, then the tagged OK (RFC 6851)."""
    imapenv.deliver(MSG)
    imapenv.deliver(MSG)
    store = imapenv.store()
    store.create_mailbox("Dest")
    session = imapenv.selected()
    validity = store.open_mailbox("Dest", readonly=True).snapshot().uidvalidity
    reply = imapenv.say(session, b"a1 UID MOVE 2 Dest")
    got = lines(reply)
    validity = validity or store.open_mailbox("Dest", readonly=True).snapshot().uidvalidity
    assert got == [
        b"* OK [COPYUID %d 2 1] Moved UIDs." % validity,
        b"* 2 EXPUNGE",
        b"a1 OK Move completed.",
    ]
    assert [m.uid for m in store.open_mailbox("INBOX", readonly=True).snapshot().messages] == [1]


def test_copy_empty_uid_set(imapenv) -> None:
    """UID COPY of UIDs that do not exist succeeds without COPYUID."""
    imapenv.deliver(MSG)
    imapenv.store().create_mailbox("Dest")
    session = imapenv.selected()
    assert imapenv.say(session, b"a1 UID COPY 99 Dest") == b"a1 OK Copy completed.\r\n"


def test_search_and_uid_search(imapenv) -> None:
    """SEARCH answers sequence numbers, UID SEARCH UIDs, through the search evaluator."""
    imapenv.deliver(MSG, flags=("\\Seen",))
    imapenv.deliver(MSG.replace(b"Subject: s", b"Subject: needle"))
    imapenv.deliver(MSG)
    session = imapenv.selected()
    imapenv.say(session, b"a0 STORE 1 +FLAGS.SILENT (\\Deleted)")
    imapenv.say(session, b"a0 EXPUNGE")
    assert lines(imapenv.say(session, b"a1 SEARCH UNSEEN")) == [
        b"* SEARCH 1 2",
        b"a1 OK Search completed.",
    ]
    assert lines(imapenv.say(session, b"a2 UID SEARCH SUBJECT needle")) == [
        b"* SEARCH 2",
        b"a2 OK Search completed.",
    ]
    assert lines(imapenv.say(session, b"a3 SEARCH SEEN")) == [
        b"* SEARCH",
        b"a3 OK Search completed.",
    ]


def test_search_bad_charset(imapenv) -> None:
    """SEARCH CHARSET with an unknown charset is NO [BADCHARSET (UTF-8 US-ASCII)]."""
    session = imapenv.selected()
    reply = imapenv.say(session, b"a1 SEARCH CHARSET KOI8-R ALL")
    assert reply.startswith(b"a1 NO [BADCHARSET (UTF-8 US-ASCII)] ")


def test_no_expunge_during_search(imapenv) -> None:
    """SEARCH while another session expunged sends no EXPUNGE and numbers as the client knows."""
    imapenv.deliver(MSG)
    imapenv.deliver(MSG)
    session = imapenv.selected()
    other = imapenv.selected()
    imapenv.say(other, b"b1 STORE 1 +FLAGS.SILENT (\\Deleted)")
    imapenv.say(other, b"b2 EXPUNGE")
    reply = imapenv.say(session, b"a1 SEARCH ALL")
    assert b"EXPUNGE" not in reply
    assert lines(imapenv.say(session, b"a2 UID SEARCH ALL")) == [
        b"* SEARCH 2",
        b"* 1 EXPUNGE",
        b"a2 OK Search completed.",
    ]


def test_store_on_message_expunged_elsewhere(imapenv) -> None:
    """STORE naming a message expunged by another session is NO [EXPUNGEISSUED] for it."""
    imapenv.deliver(MSG)
    imapenv.deliver(MSG)
    session = imapenv.selected()
    other = imapenv.selected()
    imapenv.say(other, b"b1 STORE 1 +FLAGS.SILENT (\\Deleted)")
    imapenv.say(other, b"b2 EXPUNGE")
    reply = imapenv.say(session, b"a1 STORE 1:2 +FLAGS (\\Flagged)")
    assert lines(reply) == [
        b"* 2 FETCH (FLAGS (\\Flagged \\Recent))",
        b"a1 NO [EXPUNGEISSUED] Some of the requested messages no longer exist.",
    ]


def test_copy_into_the_selected_mailbox(imapenv) -> None:
    """COPY into the selected mailbox itself adds the copies, reported as EXISTS."""
    imapenv.deliver(MSG)
    session = imapenv.selected()
    got = lines(imapenv.say(session, b"a1 COPY 1 INBOX"))
    assert got[0] == b"* 2 EXISTS"
    assert got[-1].startswith(b"a1 OK [COPYUID ") and got[-1].endswith(b" 1 2] Copy completed.")


def test_move_in_read_only_mailbox(imapenv) -> None:
    """MOVE from an EXAMINEd mailbox is refused; COPY from it works."""
    imapenv.deliver(MSG)
    imapenv.store().create_mailbox("Dest")
    session = imapenv.login()
    imapenv.say(session, b"a0 EXAMINE INBOX")
    assert imapenv.say(session, b"a1 MOVE 1 Dest").startswith(b"a1 NO [READ-ONLY] ")
    assert b"a2 OK [COPYUID " in imapenv.say(session, b"a2 COPY 1 Dest")
