"""CREATE, DELETE, RENAME, (UN)SUBSCRIBE, LIST (extended), LSUB, XLIST, STATUS, APPEND."""

from __future__ import annotations

from pathlib import Path

from twisted.internet.defer import Deferred

from mailsuite.protocols.imap.spool import AppendSpool, SpooledLiteral
from mailsuite.protocols.imap.wire.framer import CommandBytes, Framer

from .conftest import lines

MSG = b"From: a@example.org\r\nSubject: s\r\n\r\nbody\r\n"


def names(reply: bytes, kind: bytes = b"LIST") -> list[bytes]:
    return [ln for ln in lines(reply) if ln.startswith(b"* " + kind + b" ")]


def test_create_list_delete(imapenv) -> None:
    """CREATE makes a mailbox LIST shows; a trailing delimiter is accepted; DELETE removes it."""
    session = imapenv.login()
    assert imapenv.say(session, b"a1 CREATE Work.") == b"a1 OK Create completed.\r\n"
    assert imapenv.say(session, b"a2 CREATE Work.Projects") == b"a2 OK Create completed.\r\n"
    got = names(imapenv.say(session, b'a3 LIST "" Work*'))
    assert got == [
        b'* LIST (\\HasChildren) "." Work',
        b'* LIST (\\HasNoChildren) "." Work.Projects',
    ]
    assert imapenv.say(session, b"a4 CREATE Work").startswith(b"a4 NO [ALREADYEXISTS] ")
    assert imapenv.say(session, b"a5 CREATE inbox").startswith(b"a5 NO [ALREADYEXISTS] ")
    assert imapenv.say(session, b"a6 DELETE Work.Projects") == b"a6 OK Delete completed.\r\n"
    assert imapenv.say(session, b"a7 DELETE Work.Projects").startswith(b"a7 NO [NONEXISTENT] ")
    assert imapenv.say(session, b"a8 DELETE INBOX").startswith(b"a8 NO ")


def test_create_with_special_use(imapenv) -> None:
    """CREATE ... (USE (\\Flagged)) gives the mailbox that special-use attribute in LIST."""
    session = imapenv.login()
    assert imapenv.say(session, b"a1 CREATE Starred (USE (\\Flagged))").startswith(b"a1 OK ")
    got = names(imapenv.say(session, b'a2 LIST "" Starred'))
    assert got == [b'* LIST (\\HasNoChildren \\Flagged) "." Starred']


def test_list_percent_and_empty_pattern(imapenv) -> None:
    """% stops at the delimiter; an empty pattern answers the delimiter; INBOX matches any case."""
    store = imapenv.store()
    store.create_mailbox("a")
    store.create_mailbox("a.b")
    store.create_mailbox("a.b.c")
    session = imapenv.login()
    assert names(imapenv.say(session, b'a1 LIST "" a.%')) == [b'* LIST (\\HasChildren) "." a.b']
    assert names(imapenv.say(session, b'a2 LIST "a." %')) == [b'* LIST (\\HasChildren) "." a.b']
    assert lines(imapenv.say(session, b'a3 LIST "" ""')) == [
        b'* LIST (\\Noselect) "." ""',
        b"a3 OK List completed.",
    ]
    assert names(imapenv.say(session, b'a4 LIST "" inbox')) == [
        b'* LIST (\\HasNoChildren) "." INBOX'
    ]


def test_utf7_names(imapenv) -> None:
    """A mailbox named in modified UTF-7 is listed the same way back."""
    session = imapenv.login()
    assert imapenv.say(session, b"a1 CREATE &AMk-t&AOk-").startswith(b"a1 OK ")
    assert names(imapenv.say(session, b'a2 LIST "" &AMk-*')) == [
        b'* LIST (\\HasNoChildren) "." &AMk-t&AOk-'
    ]


def test_rename_and_rename_inbox(imapenv) -> None:
    """RENAME moves a mailbox; RENAME INBOX moves its messages and leaves INBOX empty."""
    imapenv.deliver(MSG)
    store = imapenv.store()
    store.create_mailbox("Old")
    session = imapenv.login()
    assert imapenv.say(session, b"a1 RENAME Old New") == b"a1 OK Rename completed.\r\n"
    assert names(imapenv.say(session, b'a2 LIST "" New')) != []
    assert imapenv.say(session, b"a3 RENAME INBOX Saved") == b"a3 OK Rename completed.\r\n"
    reply = imapenv.say(session, b"a4 STATUS Saved (MESSAGES)")
    assert lines(reply)[0] == b"* STATUS Saved (MESSAGES 1)"
    assert lines(imapenv.say(session, b"a5 STATUS INBOX (MESSAGES)"))[0] == (
        b"* STATUS INBOX (MESSAGES 0)"
    )
    assert imapenv.say(session, b"a6 RENAME Nope Other").startswith(b"a6 NO [NONEXISTENT] ")


def test_subscribe_lsub_and_list_subscribed(imapenv) -> None:
    """SUBSCRIBE/UNSUBSCRIBE drive LSUB and LIST (SUBSCRIBED) with \\Subscribed and CHILDINFO."""
    store = imapenv.store()
    store.create_mailbox("P")
    store.create_mailbox("P.C")
    session = imapenv.login()
    assert imapenv.say(session, b"a1 SUBSCRIBE P.C") == b"a1 OK Subscribe completed.\r\n"
    assert imapenv.say(session, b"a2 SUBSCRIBE Gone") == b"a2 OK Subscribe completed.\r\n"
    assert names(imapenv.say(session, b'a3 LSUB "" *'), b"LSUB") == [
        b'* LSUB () "." Gone',
        b'* LSUB () "." P.C',
    ]
    assert names(imapenv.say(session, b'a4 LSUB "" %'), b"LSUB") == [
        b'* LSUB () "." Gone',
        b'* LSUB (\\Noselect) "." P',
    ]
    got = names(imapenv.say(session, b'a5 LIST (SUBSCRIBED) "" *'))
    assert got == [
        b'* LIST (\\NonExistent \\Subscribed) "." Gone',
        b'* LIST (\\HasNoChildren \\Subscribed) "." P.C',
    ]
    got = names(imapenv.say(session, b'a6 LIST (SUBSCRIBED RECURSIVEMATCH) "" %'))
    assert b'* LIST (\\HasChildren) "." P ("CHILDINFO" ("SUBSCRIBED"))' in got
    got = names(imapenv.say(session, b'a7 LIST "" P* RETURN (SUBSCRIBED)'))
    assert got == [
        b'* LIST (\\HasChildren) "." P',
        b'* LIST (\\HasNoChildren \\Subscribed) "." P.C',
    ]
    assert imapenv.say(session, b"a8 UNSUBSCRIBE Gone") == b"a8 OK Unsubscribe completed.\r\n"
    assert b"Gone" not in imapenv.say(session, b'a9 LSUB "" *')


def test_list_special_use_and_xlist(imapenv) -> None:
    """LIST (SPECIAL-USE) lists only special-use mailboxes; XLIST marks INBOX as \\Inbox."""
    session = imapenv.login()
    imapenv.say(session, b"a0 CREATE Bin (USE (\\Trash))")
    imapenv.say(session, b"a0 CREATE Plain")
    got = names(imapenv.say(session, b'a1 LIST (SPECIAL-USE) "" *'))
    assert got == [b'* LIST (\\HasNoChildren \\Trash) "." Bin']
    got = names(imapenv.say(session, b'a2 XLIST "" INBOX'), b"XLIST")
    assert got == [b'* XLIST (\\HasNoChildren \\Inbox) "." INBOX']


def test_list_status(imapenv) -> None:
    """LIST ... RETURN (STATUS (MESSAGES UNSEEN)) sends a STATUS after each LIST (RFC 5819)."""
    imapenv.deliver(MSG)
    session = imapenv.login()
    got = lines(imapenv.say(session, b'a1 LIST "" INBOX RETURN (STATUS (MESSAGES UNSEEN))'))
    assert got == [
        b'* LIST (\\HasNoChildren) "." INBOX',
        b"* STATUS INBOX (MESSAGES 1 UNSEEN 1)",
        b"a1 OK List completed.",
    ]


def test_status_counts(imapenv) -> None:
    """STATUS UNSEEN counts messages without \\Seen; items come in the client's order."""
    imapenv.deliver(MSG, flags=("\\Seen",))
    imapenv.deliver(MSG)
    imapenv.deliver(MSG, flags=("\\Deleted",))
    validity = imapenv.store().open_mailbox("INBOX", readonly=True).status().uidvalidity
    session = imapenv.login()
    reply = imapenv.say(session, b"a1 STATUS INBOX (UNSEEN MESSAGES UIDNEXT UIDVALIDITY DELETED)")
    assert lines(reply) == [
        b"* STATUS INBOX (UNSEEN 2 MESSAGES 3 UIDNEXT 4 UIDVALIDITY %d DELETED 1)" % validity,
        b"a1 OK Status completed.",
    ]
    assert imapenv.say(session, b"a2 STATUS Nope (MESSAGES)").startswith(b"a2 NO [NONEXISTENT] ")


def test_append_with_appenduid(imapenv) -> None:
    """APPEND stores flags and date and answers [APPENDUID uidvalidity uid] (RFC 4315)."""
    imapenv.deliver(MSG)
    validity = imapenv.store().open_mailbox("INBOX", readonly=True).status().uidvalidity
    session = imapenv.login()
    cmd = b'a1 APPEND INBOX (\\Seen $Work) "05-Jan-2024 10:11:12 +0100" {%d}\r\n' % len(MSG) + MSG
    assert imapenv.say(session, cmd) == b"a1 OK [APPENDUID %d 2] Append completed.\r\n" % validity
    rec = imapenv.store().open_mailbox("INBOX", readonly=True).snapshot().messages[1]
    assert rec.flags == frozenset({"\\Seen", "$Work"})
    assert rec.internal_date == 1704445872


def test_append_to_missing_mailbox_says_trycreate(imapenv) -> None:
    """APPEND to a mailbox that does not exist is NO [TRYCREATE]."""
    session = imapenv.login()
    reply = imapenv.say(session, b"a1 APPEND Nope {%d}\r\n" % len(MSG) + MSG)
    assert reply.startswith(b"a1 NO [TRYCREATE] ")


def test_append_shows_up_in_selected_session(imapenv) -> None:
    """An APPEND by one session shows up as EXISTS in another that has the mailbox selected."""
    imapenv.deliver(MSG)
    watcher = imapenv.selected()
    writer = imapenv.login()
    assert imapenv.say(writer, b"a1 APPEND INBOX {%d}\r\n" % len(MSG) + MSG).startswith(b"a1 OK ")
    assert b"* 2 EXISTS\r\n" in imapenv.say(watcher, b"b1 NOOP")


def test_append_over_quota(imapenv) -> None:
    """APPEND past the user's message quota is NO [OVERQUOTA] and stores nothing."""
    imapenv.quota_messages[0] = 1
    session = imapenv.login()
    assert imapenv.say(session, b"a1 APPEND INBOX {%d}\r\n" % len(MSG) + MSG).startswith(b"a1 OK ")
    reply = imapenv.say(session, b"a2 APPEND INBOX {%d}\r\n" % len(MSG) + MSG)
    assert reply.startswith(b"a2 NO [OVERQUOTA] ")
    assert len(imapenv.store().open_mailbox("INBOX", readonly=True).snapshot().messages) == 1


def test_rename_onto_existing_and_create_bad_names(imapenv) -> None:
    """RENAME onto an existing mailbox is NO [ALREADYEXISTS]; an invalid name gets a clear NO."""
    store = imapenv.store()
    store.create_mailbox("A")
    store.create_mailbox("B")
    session = imapenv.login()
    assert imapenv.say(session, b"a1 RENAME A B").startswith(b"a1 NO [ALREADYEXISTS] ")
    assert imapenv.say(session, b"a2 RENAME A INBOX").startswith(b"a2 NO [ALREADYEXISTS] ")
    reply = imapenv.say(session, b'a3 CREATE "a..b"')
    assert reply.startswith(b"a3 NO ")


def test_list_children_and_return_children(imapenv) -> None:
    """LIST ... RETURN (CHILDREN) marks parents \\HasChildren and leaves \\HasNoChildren."""
    store = imapenv.store()
    store.create_mailbox("Top")
    store.create_mailbox("Top.Sub")
    session = imapenv.login()
    got = names(imapenv.say(session, b'a1 LIST "" "Top*" RETURN (CHILDREN)'))
    assert got == [b'* LIST (\\HasChildren) "." Top', b'* LIST (\\HasNoChildren) "." Top.Sub']
    got = names(imapenv.say(session, b'a2 LIST "" (Top INBOX)'))
    assert got == [b'* LIST (\\HasNoChildren) "." INBOX', b'* LIST (\\HasChildren) "." Top']


def test_append_to_own_selected_mailbox(imapenv) -> None:
    """APPEND to the mailbox this session has selected reports EXISTS and the right APPENDUID."""
    imapenv.deliver(MSG)
    validity = imapenv.store().open_mailbox("INBOX", readonly=True).status().uidvalidity
    session = imapenv.selected()
    got = lines(imapenv.say(session, b"a1 APPEND inbox {%d}\r\n" % len(MSG) + MSG))
    assert got == [
        b"* 2 EXISTS",
        b"* 2 RECENT",
        b"a1 OK [APPENDUID %d 2] Append completed." % validity,
    ]


def test_append_to_own_selected_mailbox_takes_one_store_hop(imapenv) -> None:
    """APPEND to the selected mailbox stores and takes the sync's snapshot in one thread hop."""
    session = imapenv.selected()
    calls: list[object] = []
    inner = session.run

    def counting(f, *args, **kwargs):
        calls.append(f)
        return inner(f, *args, **kwargs)

    session.run = counting
    got = lines(imapenv.say(session, b"a1 APPEND INBOX {%d}\r\n" % len(MSG) + MSG))
    assert got[0] == b"* 1 EXISTS" and got[-1].startswith(b"a1 OK [APPENDUID ")
    assert len(calls) == 1


def _spooled_append(tmp: Path, line: bytes, body: bytes) -> tuple[CommandBytes, SpooledLiteral]:
    """Frame an APPEND as the server does, its message spooled (threshold: 8 octets)."""
    spool = AppendSpool(str(tmp / "spool"), 8)
    made: list[SpooledLiteral] = []

    def open_sink(size: int) -> SpooledLiteral:
        made.append(spool.open(size))
        return made[-1]

    events = Framer(spool=open_sink, spool_min_bytes=8).feed(line + body + b"\r\n")
    cmd = events[-1]
    assert isinstance(cmd, CommandBytes) and len(made) == 1
    return cmd, made[0]


def test_spooled_append_to_selected_mailbox(imapenv) -> None:
    """A spooled APPEND to the selected mailbox is stored byte for byte, reported as EXISTS
    before the tagged OK, and its spool is closed once stored."""
    session = imapenv.selected()
    msg = MSG + b"body line\r\n" * 1000
    cmd, sink = _spooled_append(
        imapenv.tmp, b"a1 APPEND INBOX (\\Flagged) {%d}\r\n" % len(msg), msg
    )
    outcome = imapenv.wait(Deferred.fromCoroutine(session.handle(cmd.data, cmd.spooled)))
    reply = imapenv.outputs[id(session)].take() + outcome.line
    assert reply.startswith(b"* 1 EXISTS\r\n") and b"a1 OK [APPENDUID " in reply
    assert sink.closed
    box = imapenv.store().open_mailbox("INBOX", readonly=True)
    (rec,) = box.snapshot().messages
    assert rec.flags == frozenset({"\\Flagged"})
    with box.open_message(rec.uid) as f:
        assert f.read() == msg


def test_spool_failure_is_no_unavailable(imapenv) -> None:
    """A spool that could not be written gets NO [UNAVAILABLE] with a neutral text; nothing is
    stored and the session goes on."""
    session = imapenv.login()
    (imapenv.tmp / "spool").write_bytes(b"")  # a file where the directory should be
    cmd, sink = _spooled_append(imapenv.tmp, b"a1 APPEND INBOX {%d}\r\n" % len(MSG), MSG)
    outcome = imapenv.wait(Deferred.fromCoroutine(session.handle(cmd.data, cmd.spooled)))
    assert outcome.line == (
        b"a1 NO [UNAVAILABLE] Internal error occurred. Refer to server log for more "
        b"information.\r\n"
    )
    assert sink.closed
    assert imapenv.store().open_mailbox("INBOX", readonly=True).snapshot().messages == ()
    assert imapenv.say(session, b"a2 NOOP") == b"a2 OK NOOP completed.\r\n"
