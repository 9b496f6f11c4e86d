"""Status responses, continuations and response codes, byte for byte."""

from __future__ import annotations

import pytest

from mailsuite.protocols.imap.wire.framer import InputOverflow, LineTooLong, LiteralTooLarge
from mailsuite.protocols.imap.wire.responses import (
    BAD,
    BYE,
    NO,
    OK,
    Code,
    code_appenduid,
    code_badcharset,
    code_capability,
    code_copyuid,
    code_highestmodseq,
    code_modified,
    code_permanentflags,
    code_uidnext,
    code_uidvalidity,
    code_unseen,
    continuation,
    continuation_data,
    framing_error,
    tagged,
    untagged,
    untagged_status,
)


@pytest.mark.parametrize(
    ("line", "wire"),
    [
        (
            tagged(b"A142", OK, "SELECT completed", Code.READ_WRITE),
            b"A142 OK [READ-WRITE] SELECT completed\r\n",
        ),
        (
            tagged(b"a", NO, "Mailbox doesn't exist: x", Code.TRYCREATE),
            b"a NO [TRYCREATE] Mailbox doesn't exist: x\r\n",
        ),
        (tagged(b"a", BAD, "Unknown command FOO"), b"a BAD Unknown command FOO\r\n"),
        (
            untagged_status(OK, "UIDs valid", code_uidvalidity(3857529045)),
            b"* OK [UIDVALIDITY 3857529045] UIDs valid\r\n",
        ),
        (
            untagged_status(OK, "Predicted next UID", code_uidnext(4392)),
            b"* OK [UIDNEXT 4392] Predicted next UID\r\n",
        ),
        (
            untagged_status(OK, "Message 12 is first unseen", code_unseen(12)),
            b"* OK [UNSEEN 12] Message 12 is first unseen\r\n",
        ),
        (
            untagged_status(BYE, "Autologout; idle for too long"),
            b"* BYE Autologout; idle for too long\r\n",
        ),
        (
            untagged_status(OK, "Ok", code_highestmodseq(715194045007)),
            b"* OK [HIGHESTMODSEQ 715194045007] Ok\r\n",
        ),
        (untagged_status(OK, "Still here", Code.CLOSED), b"* OK [CLOSED] Still here\r\n"),
        (untagged(b"3 EXISTS"), b"* 3 EXISTS\r\n"),
        (continuation(), b"+ Ready\r\n"),
        (continuation("idling"), b"+ idling\r\n"),
        (continuation_data(b""), b"+ \r\n"),
        (continuation_data(b"\x00abc"), b"+ AGFiYw==\r\n"),
    ],
)
def test_lines(line: bytes, wire: bytes) -> None:
    """Each builder produces the exact RFC form."""
    assert line == wire


def test_unknown_status_is_refused() -> None:
    """Only the five RFC statuses can be sent."""
    with pytest.raises(ValueError):
        tagged(b"a", b"MAYBE", "x")


@pytest.mark.parametrize(
    ("code", "wire"),
    [
        (
            code_permanentflags(["\\Seen", "\\Deleted", "$Junk"]),
            b"PERMANENTFLAGS (\\Deleted \\Seen $Junk \\*)",
        ),
        (code_permanentflags([], new_keywords=True), b"PERMANENTFLAGS (\\*)"),
        (code_permanentflags(["\\Seen"], new_keywords=False), b"PERMANENTFLAGS (\\Seen)"),
        (code_capability(["IMAP4rev1", "IDLE"]), b"CAPABILITY IMAP4rev1 IDLE"),
        (code_badcharset(), b"BADCHARSET (UTF-8 US-ASCII)"),
        (code_appenduid(38505, [3955]), b"APPENDUID 38505 3955"),
        (code_appenduid(38505, [7, 8, 9, 12]), b"APPENDUID 38505 7:9,12"),
        (
            code_copyuid(38505, [(304, 3956), (319, 3957), (320, 3958)]),
            b"COPYUID 38505 304,319:320 3956:3958",
        ),
        (code_modified([7, 9, 8, 12]), b"MODIFIED 7:9,12"),
    ],
)
def test_codes(code: bytes, wire: bytes) -> None:
    """Response codes with arguments follow RFC 3501, RFC 4315 and RFC 7162 exactly."""
    assert code == wire


def test_rfc5530_codes_exist() -> None:
    """Every response code the brief names is available by name."""
    for name in (
        "ALERT READ_ONLY READ_WRITE TRYCREATE NOMODSEQ CLOSED NONEXISTENT ALREADYEXISTS "
        "OVERQUOTA INUSE LIMIT TOOBIG UNAVAILABLE AUTHENTICATIONFAILED PRIVACYREQUIRED "
        "CANNOT SERVERBUG CLIENTBUG EXPUNGEISSUED NOPERM"
    ).split():
        assert getattr(Code, name) == name.replace("_", "-").encode()


def test_framing_errors() -> None:
    """Limit events get BAD, NO [TOOBIG] or BYE as the session must answer them."""
    assert framing_error(LineTooLong(b"a1", 65536)) == (
        b"a1 BAD Command line too long (over 65536 octets)\r\n"
    )
    assert framing_error(InputOverflow(1048576)) == (
        b"* BYE Command line too long (over 1048576 octets)\r\n"
    )
    assert framing_error(LiteralTooLarge(b"a2", 99, 10, False)) == (
        b"a2 NO [TOOBIG] Literal of 99 octets is over the limit of 10 octets\r\n"
    )
    assert framing_error(LiteralTooLarge(b"a2", 99, 10, True)) == (
        b"* BYE [TOOBIG] Literal of 99 octets is over the limit of 10 octets\r\n"
    )
