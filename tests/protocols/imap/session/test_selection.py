"""SELECT, EXAMINE, CLOSE, UNSELECT, CHECK, EXPUNGE and UID EXPUNGE on the session."""

from __future__ import annotations

from mailsuite.protocols.imap.commands import State

from .conftest import lines

MSG = b"From: a@example.org\r\nSubject: s\r\n\r\nbody\r\n"


def test_select_untagged_data_is_exact(imapenv) -> None:
    """SELECT sends FLAGS, PERMANENTFLAGS, EXISTS, RECENT, UNSEEN, UIDVALIDITY, UIDNEXT..."""
    imapenv.deliver(MSG, flags=("\\Seen",))
    imapenv.deliver(MSG, flags=("$Label1",))
    uidvalidity = imapenv.store().open_mailbox("INBOX", readonly=True).snapshot().uidvalidity
    session = imapenv.login()
    got = lines(imapenv.say(session, b"a1 SELECT INBOX"))
    assert got[0] == b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label1)"
    assert got[1] == (
        b"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label1 \\*)]"
        b" Flags permitted."
    )
    assert got[2:5] == [b"* 2 EXISTS", b"* 2 RECENT", b"* OK [UNSEEN 2] First unseen."]
    assert got[5] == b"* OK [UIDVALIDITY %d] UIDs valid" % uidvalidity
    assert got[6] == b"* OK [UIDNEXT 3] Predicted next UID"
    assert got[7].startswith(b"* OK [HIGHESTMODSEQ ")
    assert got[8] == b"a1 OK [READ-WRITE] Select completed."
    assert session.state is State.SELECTED


def test_recent_is_reported_to_one_session_only(imapenv) -> None:
    """A new message is \\Recent for the first session that selects the mailbox, not the second."""
    imapenv.deliver(MSG)
    first = imapenv.login()
    assert b"* 1 RECENT" in imapenv.say(first, b"a1 SELECT INBOX")
    second = imapenv.login()
    assert b"* 0 RECENT" in imapenv.say(second, b"a1 SELECT INBOX")


def test_examine_is_read_only(imapenv) -> None:
    """EXAMINE answers [READ-ONLY], empty PERMANENTFLAGS, and STORE/EXPUNGE then fail."""
    imapenv.deliver(MSG)
    session = imapenv.login()
    reply = imapenv.say(session, b"a1 EXAMINE INBOX")
    assert b"* OK [PERMANENTFLAGS ()] Read-only mailbox.\r\n" in reply
    assert reply.endswith(b"a1 OK [READ-ONLY] Examine completed.\r\n")
    assert imapenv.say(session, b"a2 STORE 1 +FLAGS (\\Seen)").startswith(b"a2 NO [READ-ONLY]")
    assert imapenv.say(session, b"a3 EXPUNGE").startswith(b"a3 NO [READ-ONLY]")
    fetched = imapenv.say(session, b"a4 FETCH 1 BODY[]")
    assert b"\\Seen" not in fetched  # EXAMINE never sets \Seen (RFC 3501 6.3.2)


def test_select_missing_mailbox_leaves_authenticated_state(imapenv) -> None:
    """SELECT of a mailbox that does not exist closes the old one ([CLOSED]) and is NO."""
    session = imapenv.selected()
    reply = imapenv.say(session, b"a1 SELECT Nope")
    assert lines(reply) == [
        b"* OK [CLOSED] Previous mailbox closed.",
        b"a1 NO [NONEXISTENT] Mailbox doesn't exist",
    ]
    assert session.state is State.AUTHENTICATED


def test_expunge_sequence_numbers(imapenv) -> None:
    """EXPUNGE of messages 2, 3 and 5 of 5 reports 2, 2, 3 (RFC 3501 7.4.1)."""
    for _ in range(5):
        imapenv.deliver(MSG)
    session = imapenv.selected()
    imapenv.say(session, b"a1 STORE 2,3,5 +FLAGS.SILENT (\\Deleted)")
    assert lines(imapenv.say(session, b"a2 EXPUNGE")) == [
        b"* 2 EXPUNGE",
        b"* 2 EXPUNGE",
        b"* 3 EXPUNGE",
        b"a2 OK Expunge completed.",
    ]


def test_expunge_by_another_session_while_expunging(imapenv) -> None:
    """When another session expunged some messages first, our EXPUNGE still numbers correctly."""
    for _ in range(4):
        imapenv.deliver(MSG)
    ours = imapenv.selected()
    theirs = imapenv.selected()
    imapenv.say(ours, b"a1 STORE 1:4 +FLAGS.SILENT (\\Deleted)")
    imapenv.say(theirs, b"b1 UID EXPUNGE 2")
    # Every message is gone when ours looks: each EXPUNGE is numbered after the one before.
    assert lines(imapenv.say(ours, b"a2 EXPUNGE")) == [b"* 1 EXPUNGE"] * 4 + [
        b"a2 OK Expunge completed."
    ]
    assert lines(imapenv.say(theirs, b"b2 NOOP")) == [b"* 1 EXPUNGE"] * 3 + [
        b"b2 OK NOOP completed."
    ]


def test_uid_expunge_only_named(imapenv) -> None:
    """UID EXPUNGE removes only the named \\Deleted messages (RFC 4315 2.1)."""
    uids = [imapenv.deliver(MSG, flags=("\\Deleted",)) for _ in range(3)]
    session = imapenv.selected()
    reply = imapenv.say(session, b"a1 UID EXPUNGE %d" % uids[1])
    assert lines(reply) == [b"* 2 EXPUNGE", b"a1 OK Expunge completed."]


def test_close_expunges_silently_and_unselect_does_not(imapenv) -> None:
    """CLOSE removes \\Deleted messages without EXPUNGE responses; UNSELECT keeps them."""
    imapenv.deliver(MSG, flags=("\\Deleted",))
    imapenv.deliver(MSG)
    session = imapenv.selected()
    assert imapenv.say(session, b"a1 UNSELECT") == b"a1 OK Unselect completed.\r\n"
    assert len(imapenv.store().open_mailbox("INBOX").snapshot().messages) == 2
    imapenv.say(session, b"a2 SELECT INBOX")
    assert imapenv.say(session, b"a3 CLOSE") == b"a3 OK Close completed.\r\n"
    assert session.state is State.AUTHENTICATED
    assert len(imapenv.store().open_mailbox("INBOX").snapshot().messages) == 1


def test_check(imapenv) -> None:
    """CHECK answers OK in the selected state."""
    session = imapenv.selected()
    assert imapenv.say(session, b"a1 CHECK") == b"a1 OK Check completed.\r\n"


def test_noop_reports_new_messages_and_flag_changes(imapenv) -> None:
    """NOOP reports EXISTS/RECENT for a delivery and FETCH (FLAGS UID) for others' flag changes."""
    imapenv.deliver(MSG)
    session = imapenv.selected()
    other = imapenv.selected()
    imapenv.deliver(MSG)
    reply = imapenv.say(session, b"a1 NOOP")
    assert lines(reply) == [b"* 2 EXISTS", b"* 2 RECENT", b"a1 OK NOOP completed."]
    imapenv.say(other, b"b1 STORE 1 +FLAGS.SILENT (\\Flagged)")
    reply = imapenv.say(session, b"a2 NOOP")
    assert lines(reply) == [
        b"* 1 FETCH (FLAGS (\\Flagged \\Recent) UID 1)",
        b"a2 OK NOOP completed.",
    ]


def test_selected_mailbox_deleted_elsewhere(imapenv) -> None:
    """When another session deletes the selected mailbox, the next command ends with BYE."""
    imapenv.store().create_mailbox("Temp")
    imapenv.deliver(MSG, mailbox="Temp")
    session = imapenv.selected("Temp")
    other = imapenv.login()
    assert imapenv.say(other, b"b1 DELETE Temp") == b"b1 OK Delete completed.\r\n"
    outcome = imapenv.send(session, b"a1 NOOP")
    out = imapenv.outputs[id(session)].take() + outcome.line
    assert outcome.close
    assert (
        out
        == b"a1 OK NOOP completed.\r\n* BYE Selected mailbox was deleted, have to disconnect.\r\n"
    )


def test_select_builds_its_view_in_one_store_hop(imapenv) -> None:
    """SELECT opens, snapshots and numbers the mailbox in one thread hop, CONDSTORE included."""
    imapenv.deliver(MSG, flags=("\\Seen",))
    imapenv.deliver(MSG)
    session = imapenv.login()
    calls: list[object] = []
    inner = session.run

    def counting(f, *args, **kwargs):
        calls.append(f)
        return inner(f, *args, **kwargs)

    session.run = counting
    got = lines(imapenv.say(session, b"a1 SELECT INBOX (CONDSTORE)"))
    assert b"* OK [UNSEEN 2] First unseen." in got
    assert got[-1] == b"a1 OK [READ-WRITE] Select completed."
    assert len(calls) == 1
    assert session.selected.view.condstore and session.selected.view.exists == 2
