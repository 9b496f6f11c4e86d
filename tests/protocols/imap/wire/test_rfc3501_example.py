"""The RFC 3501 section 8 example session, rebuilt from our parser and builders byte for byte."""

from __future__ import annotations

import datetime

from mailsuite.message import Address, BodyStructure, Envelope
from mailsuite.protocols.imap.commands import Fetch, Logout, Select, Store, StoreMode, parse_command
from mailsuite.protocols.imap.wire import data
from mailsuite.protocols.imap.wire.fetchrender import (
    render_body,
    render_envelope,
    render_flags,
    render_internaldate,
)
from mailsuite.protocols.imap.wire.responses import (
    BYE,
    OK,
    Code,
    code_uidvalidity,
    code_unseen,
    tagged,
    untagged_status,
)
from mailsuite.protocols.imap.wire.seqset import SequenceSet

GRAY = Address("Terry Gray", None, "gray", "cac.washington.edu")
ENVELOPE = Envelope(
    "Wed, 17 Jul 1996 02:23:25 -0700 (PDT)",
    "IMAP4rev1 WG mtg summary and minutes",
    (GRAY,),
    (GRAY,),
    (GRAY,),
    (Address(None, None, "imap", "cac.washington.edu"),),
    (
        Address(None, None, "minutes", "CNRI.Reston.VA.US"),
        Address("John Klensin", None, "KLENSIN", "MIT.EDU"),
    ),
    None,
    None,
    "<B27397-0100000@cac.washington.edu>",
)
BODY = BodyStructure(
    "TEXT", "PLAIN", params=(("CHARSET", "US-ASCII"),), encoding="7BIT", size=3028, lines=92
)
PDT = datetime.timezone(datetime.timedelta(hours=-7))


def test_select_inbox() -> None:
    """a002 select inbox: the RFC's untagged data and completion."""
    assert parse_command(b"a002 select inbox") == Select(b"a002", "INBOX")
    lines = (
        data.exists(18)
        + data.flags(["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"])
        + data.recent(2)
        + untagged_status(OK, "Message 17 is the first unseen message", code_unseen(17))
        + untagged_status(OK, "UIDs valid", code_uidvalidity(3857529045))
        + tagged(b"a002", OK, "SELECT completed", Code.READ_WRITE)
    )
    assert lines == (
        b"* 18 EXISTS\r\n"
        b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
        b"* 2 RECENT\r\n"
        b"* OK [UNSEEN 17] Message 17 is the first unseen message\r\n"
        b"* OK [UIDVALIDITY 3857529045] UIDs valid\r\n"
        b"a002 OK [READ-WRITE] SELECT completed\r\n"
    )


def test_fetch_full() -> None:
    """a003 fetch 12 full: FULL expands to the items whose values the RFC shows."""
    command = parse_command(b"a003 fetch 12 full")
    assert isinstance(command, Fetch)
    values = {
        b"FLAGS": render_flags(["\\Seen"]),
        b"INTERNALDATE": render_internaldate(837596665, PDT),
        b"RFC822.SIZE": b"4286",
        b"ENVELOPE": render_envelope(ENVELOPE),
        b"BODY": render_body(BODY, extensible=False),
    }
    items = [(a.response_name(), values[a.response_name()]) for a in command.attrs]
    assert data.fetch(12, items) == (
        b'* 12 FETCH (FLAGS (\\Seen) INTERNALDATE "17-Jul-1996 02:44:25 -0700"'
        b' RFC822.SIZE 4286 ENVELOPE ("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)"'
        b' "IMAP4rev1 WG mtg summary and minutes"'
        b' (("Terry Gray" NIL "gray" "cac.washington.edu"))'
        b' (("Terry Gray" NIL "gray" "cac.washington.edu"))'
        b' (("Terry Gray" NIL "gray" "cac.washington.edu"))'
        b' ((NIL NIL "imap" "cac.washington.edu"))'
        b' ((NIL NIL "minutes" "CNRI.Reston.VA.US")'
        b'("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL NIL'
        b' "<B27397-0100000@cac.washington.edu>")'
        b' BODY ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92))\r\n'
    )


def test_store_and_logout() -> None:
    """a005 store 12 +flags \\deleted and a006 logout answer as in the RFC (flags in our order)."""
    assert parse_command(b"a005 store 12 +flags \\deleted") == Store(
        b"a005", SequenceSet.of(12), StoreMode.ADD, ("\\Deleted",)
    )
    assert data.fetch(12, [(b"FLAGS", render_flags(["\\Deleted", "\\Seen"]))]) == (
        b"* 12 FETCH (FLAGS (\\Deleted \\Seen))\r\n"
    )
    assert parse_command(b"a006 logout") == Logout(b"a006")
    assert untagged_status(BYE, "IMAP4rev1 server terminating connection") + tagged(
        b"a006", OK, "LOGOUT completed"
    ) == (b"* BYE IMAP4rev1 server terminating connection\r\na006 OK LOGOUT completed\r\n")
