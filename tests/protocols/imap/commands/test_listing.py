"""LIST (LIST-EXTENDED, LIST-STATUS, SPECIAL-USE), LSUB and XLIST."""

from __future__ import annotations

import pytest

from mailsuite.protocols.imap.commands import BadCommand, List, Lsub, Xlist, parse_command


@pytest.mark.parametrize(
    ("line", "command"),
    [
        (b'A101 LIST "" ""', List(b"A101", "", ("",))),
        (b"A102 LIST #news.comp.mail.misc %", List(b"A102", "#news.comp.mail.misc", ("%",))),
        (b'A103 LIST /usr/staff/jones ""', List(b"A103", "/usr/staff/jones", ("",))),
        (b"A202 LIST ~/Mail/ %", List(b"A202", "~/Mail/", ("%",))),
        (b'a LIST "" *', List(b"a", "", ("*",))),
        (b'a LIST "" "Entw&APw-rfe.*"', List(b"a", "", ("Entwürfe.*",))),
        (
            b'A02 LIST (SUBSCRIBED) "" "*"',
            List(b"A02", "", ("*",), frozenset({"SUBSCRIBED"}), extended=True),
        ),
        (
            b'A04 LIST (subscribed recursivematch) "" "%" RETURN (CHILDREN)',
            List(
                b"A04",
                "",
                ("%",),
                frozenset({"SUBSCRIBED", "RECURSIVEMATCH"}),
                frozenset({"CHILDREN"}),
                extended=True,
            ),
        ),
        (
            b'A05 LIST "" ("INBOX" "Drafts") RETURN (STATUS (MESSAGES UNSEEN))',
            List(
                b"A05",
                "",
                ("INBOX", "Drafts"),
                return_options=frozenset({"STATUS"}),
                status_items=("MESSAGES", "UNSEEN"),
                extended=True,
            ),
        ),
        (
            b't1 LIST (SPECIAL-USE) "" "*" RETURN (SPECIAL-USE)',
            List(
                b"t1",
                "",
                ("*",),
                frozenset({"SPECIAL-USE"}),
                frozenset({"SPECIAL-USE"}),
                extended=True,
            ),
        ),
        (b'a LIST () "" % RETURN ()', List(b"a", "", ("%",), extended=True)),
        (b'A002 LSUB "#news." "comp.mail.*"', Lsub(b"A002", "#news.", "comp.mail.*")),
        (b'a XLIST "" *', Xlist(b"a", "", "*")),
    ],
)
def test_parse(line: bytes, command: List | Lsub | Xlist) -> None:
    """LIST forms (RFC 3501 and RFC 5258 examples) parse to the expected object."""
    assert parse_command(line) == command


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b'a LIST (RECURSIVEMATCH) "" *', "RECURSIVEMATCH must be combined"),
        (b'a LIST (BOGUS) "" *', "Unknown LIST selection option BOGUS"),
        (b'a LIST "" * RETURN (BOGUS)', "Unknown LIST return option BOGUS"),
        (b'a LIST "" * FOO ()', "Expected RETURN"),
        (b'a LIST "" ()', "Expected a mailbox pattern"),
        (b'a LIST ""', "Missing arguments"),
        (b"a LIST &Jjo *", "Reference name is not valid"),
    ],
)
def test_errors(line: bytes, message: str) -> None:
    """Malformed LIST commands give a BadCommand naming the problem."""
    result = parse_command(line)
    assert isinstance(result, BadCommand), result
    assert message in result.message
