"""FETCH and UID FETCH on the session: every item, sections, partials, \\Seen, streaming."""

from __future__ import annotations

from mailsuite.protocols.imap.handlers.fetch import STREAM_MIN_BYTES

from .conftest import lines

MSG = (
    b"From: Alice <alice@example.org>\r\n"
    b"To: bob@example.org\r\n"
    b"Subject: Hello\r\n"
    b"Date: Mon, 7 Feb 1994 21:52:25 -0800\r\n"
    b"Message-ID: <1@example.org>\r\n"
    b"\r\n"
    b"Hello Bob\r\n"
)
MULTI = (
    b"From: a@example.org\r\nSubject: parts\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="XX"\r\n\r\n'
    b"--XX\r\nContent-Type: text/plain\r\n\r\npart one\r\n"
    b"--XX\r\nContent-Type: text/html\r\n\r\n<p>two</p>\r\n"
    b"--XX--\r\n"
)


def test_fetch_index_items_exact(imapenv) -> None:
    """FETCH (UID FLAGS RFC822.SIZE) answers from the index, byte for byte."""
    imapenv.deliver(MSG, flags=("\\Seen",))
    session = imapenv.selected()
    reply = imapenv.say(session, b"a1 FETCH 1 (UID FLAGS RFC822.SIZE)")
    assert lines(reply) == [
        b"* 1 FETCH (UID 1 FLAGS (\\Seen \\Recent) RFC822.SIZE %d)" % len(MSG),
        b"a1 OK Fetch completed.",
    ]


def test_uid_fetch_adds_uid(imapenv) -> None:
    """UID FETCH includes UID even when not asked for, and skips UIDs that do not exist."""
    imapenv.deliver(MSG)
    imapenv.deliver(MSG)
    session = imapenv.selected()
    reply = imapenv.say(session, b"a1 UID FETCH 2:9 FLAGS")
    assert lines(reply) == [b"* 2 FETCH (UID 2 FLAGS (\\Recent))", b"a1 OK Fetch completed."]
    assert imapenv.say(session, b"a2 UID FETCH 50:60 FLAGS") == b"a2 OK Fetch completed.\r\n"


def test_fetch_envelope_and_internaldate(imapenv) -> None:
    """ENVELOPE is rendered from the cache with the RFC 3501 field order; INTERNALDATE quoted."""
    imapenv.deliver(MSG)
    session = imapenv.selected()
    reply = imapenv.say(session, b"a1 FETCH 1 (ENVELOPE INTERNALDATE)")
    assert reply.startswith(
        b'* 1 FETCH (ENVELOPE ("Mon, 7 Feb 1994 21:52:25 -0800" "Hello" '
        b'(("Alice" NIL "alice" "example.org")) (("Alice" NIL "alice" "example.org")) '
        b'(("Alice" NIL "alice" "example.org")) ((NIL NIL "bob" "example.org")) NIL NIL NIL '
        b'"<1@example.org>") INTERNALDATE "'
    )


def test_fetch_bodystructure_multipart(imapenv) -> None:
    """BODYSTRUCTURE and BODY of a multipart message list both parts and the subtype."""
    imapenv.deliver(MULTI)
    session = imapenv.selected()
    reply = imapenv.say(session, b"a1 FETCH 1 (BODY BODYSTRUCTURE)")
    assert b'BODY (("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 8 0)' in reply
    assert b'"mixed")' in reply
    assert b'BODYSTRUCTURE (("text" "plain"' in reply
    assert b'"mixed" ("boundary" "XX") NIL NIL NIL)' in reply


def test_fetch_sections_and_partial(imapenv) -> None:
    """BODY[1], BODY[2.MIME], BODY[HEADER.FIELDS (Subject)] and a partial give exact literals."""
    imapenv.deliver(MULTI)
    session = imapenv.selected()
    reply = imapenv.say(session, b"a1 FETCH 1 (BODY.PEEK[1] BODY.PEEK[2.MIME])")
    assert reply.startswith(
        b"* 1 FETCH (BODY[1] {8}\r\npart one BODY[2.MIME] {27}\r\nContent-Type: text/html\r\n\r\n)"
    )
    reply = imapenv.say(session, b"a2 FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]")
    assert reply.startswith(
        b"* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {18}\r\nSubject: parts\r\n\r\n)"
    )
    reply = imapenv.say(session, b"a3 FETCH 1 BODY.PEEK[]<3.10>")
    assert reply.startswith(b"* 1 FETCH (BODY[]<3> {10}\r\n" + MULTI[3:13] + b")")
    reply = imapenv.say(session, b"a4 FETCH 1 BODY.PEEK[9]")
    assert reply.startswith(b"* 1 FETCH (BODY[9] NIL)")


def test_fetch_rfc822_forms(imapenv) -> None:
    """RFC822, RFC822.HEADER and RFC822.TEXT are the whole message, the header and the body."""
    imapenv.deliver(MSG)
    session = imapenv.selected()
    header, _, text = MSG.partition(b"\r\n\r\n")
    reply = imapenv.say(session, b"a1 FETCH 1 (RFC822.HEADER RFC822.TEXT)")
    assert reply.startswith(
        b"* 1 FETCH (RFC822.HEADER {%d}\r\n" % (len(header) + 4) + header + b"\r\n\r\n"
        b" RFC822.TEXT {%d}\r\n" % len(text) + text
    )
    reply = imapenv.say(session, b"a2 FETCH 1 RFC822")
    assert b"RFC822 {%d}\r\n" % len(MSG) + MSG in reply


def test_peek_keeps_unseen_and_body_sets_seen(imapenv) -> None:
    """BODY.PEEK[] leaves \\Seen alone; BODY[] sets it and reports FLAGS in the same response."""
    imapenv.deliver(MSG)
    session = imapenv.selected()
    assert b"FLAGS" not in imapenv.say(session, b"a1 FETCH 1 BODY.PEEK[TEXT]")
    reply = imapenv.say(session, b"a2 FETCH 1 BODY[TEXT]")
    assert reply.startswith(b"* 1 FETCH (BODY[TEXT] {11}\r\nHello Bob\r\n FLAGS (\\Seen \\Recent))")
    assert b"FETCH" not in imapenv.say(session, b"a3 NOOP")  # not reported twice
    status = imapenv.store().open_mailbox("INBOX", readonly=True).status()
    assert status.unseen == 0


def test_fetch_macros(imapenv) -> None:
    """FAST expands to FLAGS INTERNALDATE RFC822.SIZE."""
    imapenv.deliver(MSG)
    session = imapenv.selected()
    reply = imapenv.say(session, b"a1 FETCH 1 FAST")
    assert reply.startswith(b'* 1 FETCH (FLAGS (\\Recent) INTERNALDATE "')
    assert b" RFC822.SIZE %d)" % len(MSG) in reply


def test_fetch_past_the_end_is_bad(imapenv) -> None:
    """A sequence number past the end is BAD; 1:* on an empty mailbox is just OK."""
    session = imapenv.selected()
    assert imapenv.say(session, b"a1 FETCH 1:* FLAGS") == b"a1 OK Fetch completed.\r\n"
    assert imapenv.say(session, b"a2 FETCH 3 FLAGS").startswith(b"a2 BAD ")


def test_large_body_is_streamed(imapenv) -> None:
    """A body over the stream threshold is streamed, exactly the promised octets."""
    body = b"".join(b"line %06d of a long message\n" % i for i in range(STREAM_MIN_BYTES // 20))
    raw = b"From: a@example.org\nSubject: big\n\n" + body
    imapenv.deliver(raw)
    session = imapenv.selected()
    out = imapenv.outputs[id(session)]
    crlf = raw.replace(b"\n", b"\r\n")
    reply = imapenv.say(session, b"a1 FETCH 1 BODY.PEEK[]")
    assert out.streamed == 1
    assert (
        reply
        == b"* 1 FETCH (BODY[] {%d}\r\n" % len(crlf) + crlf + b")\r\na1 OK Fetch completed.\r\n"
    )
    reply = imapenv.say(session, b"a2 FETCH 1 BODY.PEEK[TEXT]<5.100>")
    start = crlf.index(b"\r\n\r\n") + 4 + 5
    assert reply.startswith(
        b"* 1 FETCH (BODY[TEXT]<5> {100}\r\n" + crlf[start : start + 100] + b")"
    )


def test_no_expunge_during_fetch(imapenv) -> None:
    """A message expunged elsewhere is not announced during FETCH but on the next NOOP."""
    imapenv.deliver(MSG)
    imapenv.deliver(MSG)
    session = imapenv.selected()
    other = imapenv.selected()
    imapenv.say(other, b"b1 STORE 1 +FLAGS.SILENT (\\Deleted)")
    imapenv.say(other, b"b2 EXPUNGE")
    reply = imapenv.say(session, b"a1 FETCH 1:* (UID)")
    assert b"EXPUNGE" not in reply
    assert b"* 2 FETCH (UID 2)" in reply
    assert lines(imapenv.say(session, b"a2 NOOP")) == [b"* 1 EXPUNGE", b"a2 OK NOOP completed."]


def test_fetch_of_expunged_message_body(imapenv) -> None:
    """FETCH of a body expunged elsewhere (not yet announced) answers NO [EXPUNGEISSUED]."""
    imapenv.deliver(MSG)
    session = imapenv.selected()
    other = imapenv.selected()
    imapenv.say(other, b"b1 STORE 1 +FLAGS.SILENT (\\Deleted)")
    imapenv.say(other, b"b2 EXPUNGE")
    reply = imapenv.say(session, b"a1 FETCH 1 BODY.PEEK[]")
    assert reply.startswith(b"a1 NO [EXPUNGEISSUED] ")


def _break_message_file(imapenv) -> None:
    """Replace the only message file of INBOX by a directory: reading it fails with an OSError."""
    import glob
    import os

    root = imapenv.mail_root("alice")
    (path,) = glob.glob(os.path.join(root, "new", "*")) + glob.glob(os.path.join(root, "cur", "*"))
    os.unlink(path)
    os.mkdir(path)


def test_internal_error_is_serverbug_and_session_survives(imapenv) -> None:
    """An unexpected failure answers NO [SERVERBUG], and the session keeps working."""
    imapenv.deliver(MSG)
    session = imapenv.selected()
    imapenv.say(session, b"a0 FETCH 1 FLAGS")  # the store has moved it to cur/ by now
    _break_message_file(imapenv)
    reply = imapenv.say(session, b"a1 FETCH 1 BODY.PEEK[]")
    assert reply.endswith(b"a1 NO [SERVERBUG] Internal error occurred. Refer to server log.\r\n")
    assert imapenv.say(session, b"a2 FETCH 1 UID").endswith(b"a2 OK Fetch completed.\r\n")


def test_cached_items_batch_matches_the_general_renderer(imapenv) -> None:
    """The batch path for cached and index items writes exactly what render_message writes."""
    from mailsuite.protocols.imap.commands import FetchAttr
    from mailsuite.protocols.imap.handlers.fetch import _render_batch, render_message

    imapenv.deliver(MSG, flags=("\\Seen", "$Label1"))
    imapenv.deliver(MULTI)
    imapenv.deliver(b"From: M\xc3\xbcller <m@x.de>\r\nSubject: \xe4 8-bit\r\n\r\nbody\r\n")
    box = imapenv.store().open_mailbox("INBOX")
    try:
        recs = box.snapshot().messages
        # recent / implicit FLAGS / CONDSTORE additions each on for one message.
        jobs = [(i + 1, r, r.flags, i == 0, i == 1, i == 2) for i, r in enumerate(recs)]
        for names in (
            ("ENVELOPE",),
            ("UID", "FLAGS", "ENVELOPE"),
            ("BODYSTRUCTURE", "BODY", "RFC822.SIZE", "INTERNALDATE", "MODSEQ", "UID", "FLAGS"),
        ):
            attrs = tuple(FetchAttr(n) for n in names)
            want = b"".join(
                piece
                for seq, rec, flags, recent, add_flags, add_cs in jobs
                for piece in render_message(box, seq, rec, flags, recent, attrs, add_flags, add_cs)
            )
            got, skipped = _render_batch(box, jobs, attrs)
            assert skipped == 0
            assert b"".join(got) == want
    finally:
        box.close()


def test_fetch_all_cached_items_in_one_batch(imapenv) -> None:
    """FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE) answers every message, in order, one line each."""
    for _ in range(3):
        imapenv.deliver(MSG)
    session = imapenv.selected()
    reply = imapenv.say(session, b"a1 FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE)")
    got = lines(reply)
    assert [line.split(b" (", 1)[0] for line in got[:-1]] == [
        b"* 1 FETCH",
        b"* 2 FETCH",
        b"* 3 FETCH",
    ]
    assert got[0].startswith(b"* 1 FETCH (FLAGS (\\Recent) ENVELOPE (")
    assert got[0].endswith(b" NIL NIL NIL NIL))")
    assert got[-1] == b"a1 OK Fetch completed."
