"""IDLE on the session with the real ChangeHub (polling on a test clock, no inotify)."""

from __future__ import annotations

import pytest

from mailsuite.protocols.imap.session import Mode
from mailsuite.service.changes import POLL_INTERVAL_S, ChangeHub

from .conftest import lines

MSG = b"From: a@example.org\r\nSubject: s\r\n\r\nbody\r\n"


@pytest.fixture
def hub(imapenv):
    hub = ChangeHub(imapenv.clock, use_inotify=False)
    yield hub
    hub.stop()


def tick(imapenv) -> None:
    """Let the hub poll, then run the coalesced callback it scheduled."""
    imapenv.clock.advance(POLL_INTERVAL_S)
    imapenv.clock.advance(0.1)


def idling(imapenv, hub):
    session = imapenv.session(changes=hub)
    assert imapenv.say(session, b"L LOGIN alice alice-pw").startswith(b"L OK")
    imapenv.say(session, b"S SELECT INBOX")
    assert imapenv.say(session, b"i1 IDLE") == b"+ idling\r\n"
    assert session.mode is Mode.IDLE
    return session


def test_idle_pushes_new_message(imapenv, hub) -> None:
    """A delivery while idling is pushed as EXISTS and RECENT without any command."""
    session = idling(imapenv, hub)
    imapenv.deliver(MSG)
    tick(imapenv)
    assert lines(imapenv.outputs[id(session)].take()) == [b"* 1 EXISTS", b"* 1 RECENT"]
    assert imapenv.say(session, b"DONE") == b"i1 OK Idle completed.\r\n"
    assert session.mode is Mode.COMMAND


def test_idle_pushes_expunge_and_flags(imapenv, hub) -> None:
    """Flag changes and expunges by another session are pushed while idling."""
    imapenv.deliver(MSG)
    imapenv.deliver(MSG)
    session = idling(imapenv, hub)
    other = imapenv.selected()
    imapenv.say(other, b"b1 STORE 2 +FLAGS.SILENT (\\Flagged)")
    tick(imapenv)
    assert lines(imapenv.outputs[id(session)].take()) == [
        b"* 2 FETCH (FLAGS (\\Flagged \\Recent) UID 2)"
    ]
    imapenv.say(other, b"b2 STORE 1 +FLAGS.SILENT (\\Deleted)")
    imapenv.say(other, b"b3 EXPUNGE")
    tick(imapenv)
    assert lines(imapenv.outputs[id(session)].take()) == [b"* 1 EXPUNGE"]


def test_idle_ended_by_other_line(imapenv, hub) -> None:
    """A line other than DONE ends IDLE with BAD; the session goes on."""
    session = idling(imapenv, hub)
    assert imapenv.say(session, b"a2 NOOP") == b"i1 BAD Expected DONE to end IDLE.\r\n"
    assert imapenv.say(session, b"a3 NOOP") == b"a3 OK NOOP completed.\r\n"


def test_idle_without_selected_mailbox(imapenv, hub) -> None:
    """IDLE in the authenticated state waits for DONE."""
    session = imapenv.login()
    assert imapenv.say(session, b"i1 IDLE") == b"+ idling\r\n"
    assert imapenv.say(session, b"done") == b"i1 OK Idle completed.\r\n"
