"""QRESYNC in the session (RFC 7162 section 3.2): SELECT resync, VANISHED, CLOSED."""

from __future__ import annotations

import re
from typing import Any

from .conftest import lines

MSG = b"From: a@example.org\r\nSubject: qresync\r\n\r\nbody\r\n"


def _select(imapenv: Any, session: Any, line: bytes) -> bytes:
    reply = imapenv.say(session, line)
    assert reply.splitlines()[-1].split(b" ")[1] == b"OK", reply
    return reply


def _state(reply: bytes) -> tuple[int, int]:
    uv = re.search(rb"\[UIDVALIDITY (\d+)\]", reply)
    hm = re.search(rb"\[HIGHESTMODSEQ (\d+)\]", reply)
    assert uv is not None and hm is not None, reply
    return int(uv.group(1)), int(hm.group(1))


def test_qresync_parameter_needs_enable(imapenv) -> None:
    """SELECT (QRESYNC ...) before ENABLE QRESYNC is BAD and leaves the state alone."""
    imapenv.deliver(MSG)
    session = imapenv.login()
    reply = imapenv.say(session, b"a1 SELECT INBOX (QRESYNC (1 1))")
    assert reply == b"a1 BAD QRESYNC parameter without ENABLE QRESYNC.\r\n"


def test_vanished_modifier_needs_qresync(imapenv) -> None:
    """UID FETCH ... (CHANGEDSINCE n VANISHED) without ENABLE QRESYNC is BAD (RFC 7162 3.2.6)."""
    imapenv.deliver(MSG)
    session = imapenv.selected()
    reply = imapenv.say(session, b"a1 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)")
    assert reply == b"a1 BAD VANISHED needs ENABLE QRESYNC first.\r\n"


def test_select_qresync_reports_vanished_and_changed(imapenv) -> None:
    """SELECT (QRESYNC (uidvalidity modseq)) sends VANISHED (EARLIER) for what another session
    expunged and FETCH (UID FLAGS MODSEQ) for what it changed, after the usual data."""
    for _ in range(5):
        imapenv.deliver(MSG)
    first = imapenv.login()
    imapenv.say(first, b"e1 ENABLE QRESYNC")
    uidvalidity, h = _state(_select(imapenv, first, b"s1 SELECT INBOX"))
    imapenv.drop(first)

    other = imapenv.selected()
    imapenv.say(other, b"o1 STORE 2,4 +FLAGS.SILENT (\\Deleted)")
    imapenv.say(other, b"o2 EXPUNGE")
    imapenv.say(other, b"o3 STORE 3 +FLAGS.SILENT ($Label1)")
    imapenv.drop(other)

    again = imapenv.login()
    imapenv.say(again, b"e2 ENABLE QRESYNC")
    reply = _select(imapenv, again, b"s2 SELECT INBOX (QRESYNC (%d %d 1:5))" % (uidvalidity, h))
    _uv, h2 = _state(reply)
    assert lines(reply)[-3:] == [
        b"* VANISHED (EARLIER) 2,4",
        b"* 3 FETCH (UID 5 FLAGS ($Label1) MODSEQ (%d))" % h2,
        b"s2 OK [READ-WRITE] Select completed.",
    ]
    assert b"* 3 EXISTS\r\n" in reply


def test_select_qresync_known_uids_limit_the_answer(imapenv) -> None:
    """Known UIDs limit both VANISHED (EARLIER) and the changed FETCHes to what the client knows."""
    for _ in range(4):
        imapenv.deliver(MSG)
    session = imapenv.login()
    imapenv.say(session, b"e1 ENABLE QRESYNC")
    uidvalidity, h = _state(_select(imapenv, session, b"s1 SELECT INBOX"))
    imapenv.say(session, b"a1 STORE 1,3 +FLAGS.SILENT (\\Deleted)")
    imapenv.say(session, b"a2 UID EXPUNGE 1")
    imapenv.say(session, b"a3 UID STORE 3 -FLAGS.SILENT (\\Deleted)")
    imapenv.say(session, b"a4 UNSELECT")
    reply = _select(imapenv, session, b"s2 EXAMINE INBOX (QRESYNC (%d %d 2:4))" % (uidvalidity, h))
    got = lines(reply)
    assert not any(ln.startswith(b"* VANISHED") for ln in got), got
    fetches = [ln for ln in got if b" FETCH " in ln]
    assert len(fetches) == 1 and fetches[0].startswith(b"* 2 FETCH (UID 3 FLAGS () MODSEQ ("), got


def test_select_qresync_with_other_uidvalidity_sends_no_resync(imapenv) -> None:
    """A client whose UIDVALIDITY is stale gets a plain SELECT: its cache is void."""
    imapenv.deliver(MSG)
    session = imapenv.login()
    imapenv.say(session, b"e1 ENABLE QRESYNC")
    reply = _select(imapenv, session, b"s1 SELECT INBOX (QRESYNC (7 1))")
    assert b"VANISHED" not in reply and b" FETCH " not in reply


def test_expunge_with_qresync_sends_vanished_and_highestmodseq(imapenv) -> None:
    """With QRESYNC on, EXPUNGE answers VANISHED and its OK names the new HIGHESTMODSEQ."""
    for _ in range(3):
        imapenv.deliver(MSG)
    session = imapenv.login()
    imapenv.say(session, b"e1 ENABLE QRESYNC")
    _select(imapenv, session, b"s1 SELECT INBOX")
    imapenv.say(session, b"a1 STORE 1,3 +FLAGS.SILENT (\\Deleted)")
    reply = imapenv.say(session, b"a2 EXPUNGE")
    assert re.fullmatch(
        rb"\* VANISHED 1,3\r\na2 OK \[HIGHESTMODSEQ \d+\] Expunge completed\.\r\n", reply
    ), reply


def test_uid_fetch_changedsince_vanished(imapenv) -> None:
    """UID FETCH (CHANGEDSINCE n VANISHED) sends VANISHED (EARLIER) for expunged UIDs of the set
    first, then the changed messages."""
    for _ in range(4):
        imapenv.deliver(MSG)
    session = imapenv.login()
    imapenv.say(session, b"e1 ENABLE QRESYNC")
    _uv, h = _state(_select(imapenv, session, b"s1 SELECT INBOX"))
    imapenv.say(session, b"a1 STORE 2 +FLAGS.SILENT (\\Deleted)")
    imapenv.say(session, b"a2 EXPUNGE")
    imapenv.say(session, b"a3 UID STORE 3 +FLAGS.SILENT (\\Flagged)")
    reply = imapenv.say(session, b"a4 UID FETCH 1:3 (FLAGS) (CHANGEDSINCE %d VANISHED)" % h)
    got = lines(reply)
    assert got[0] == b"* VANISHED (EARLIER) 2"
    assert re.fullmatch(
        rb"\* 2 FETCH \(UID 3 FLAGS \(\\Flagged \\Recent\) MODSEQ \(\d+\)\)", got[1]
    )
    assert got[2:] == [b"a4 OK Fetch completed."]


def test_closed_when_selecting_another_mailbox(imapenv) -> None:
    """SELECT while a mailbox is selected sends OK [CLOSED] before the new mailbox's data."""
    session = imapenv.selected()
    imapenv.say(session, b"c1 CREATE Other")
    reply = imapenv.say(session, b"s2 EXAMINE Other")
    assert reply.startswith(b"* OK [CLOSED] Previous mailbox closed.\r\n* FLAGS ")
    assert b"[CLOSED]" not in imapenv.say(session, b"s3 UNSELECT")
    assert b"[CLOSED]" not in imapenv.say(session, b"s4 SELECT INBOX")


def test_move_with_qresync_sends_vanished_and_highestmodseq(imapenv) -> None:
    """With QRESYNC on, MOVE reports COPYUID, then VANISHED, and its OK names HIGHESTMODSEQ."""
    for _ in range(2):
        imapenv.deliver(MSG)
    session = imapenv.login()
    imapenv.say(session, b"e1 ENABLE QRESYNC")
    imapenv.say(session, b"c1 CREATE Archive")
    _select(imapenv, session, b"s1 SELECT INBOX")
    reply = imapenv.say(session, b"m1 UID MOVE 2 Archive")
    assert re.fullmatch(
        rb"\* OK \[COPYUID \d+ 2 1\] Moved UIDs\.\r\n\* VANISHED 2\r\n"
        rb"m1 OK \[HIGHESTMODSEQ \d+\] Move completed\.\r\n",
        reply,
    ), reply
