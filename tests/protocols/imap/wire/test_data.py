"""Untagged data responses, byte for byte (RFC 3501 7.2-7.4 and extensions)."""

from __future__ import annotations

import pytest

from mailsuite.protocols.imap.wire import data


@pytest.mark.parametrize(
    ("line", "wire"),
    [
        (data.capability(["IMAP4rev1", "LITERAL+"]), b"* CAPABILITY IMAP4rev1 LITERAL+\r\n"),
        (data.enabled(["CONDSTORE"]), b"* ENABLED CONDSTORE\r\n"),
        (data.enabled([]), b"* ENABLED\r\n"),
        (data.exists(23), b"* 23 EXISTS\r\n"),
        (data.recent(5), b"* 5 RECENT\r\n"),
        (data.expunge(44), b"* 44 EXPUNGE\r\n"),
        (data.vanished([405, 407, 406, 410]), b"* VANISHED 405:407,410\r\n"),
        (data.vanished([41], earlier=True), b"* VANISHED (EARLIER) 41\r\n"),
        (
            data.flags(["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"]),
            b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n",
        ),
        (
            data.list_response("blurdybloop", ["\\Noselect"], delimiter="/"),
            b'* LIST (\\Noselect) "/" blurdybloop\r\n',
        ),
        (
            data.list_response("Foo", ["\\HasChildren"], child_info=["SUBSCRIBED"]),
            b'* LIST (\\HasChildren) "." Foo ("CHILDINFO" ("SUBSCRIBED"))\r\n',
        ),
        (
            data.list_response("Entwürfe", [], kind=b"LSUB"),
            b'* LSUB () "." Entw&APw-rfe\r\n',
        ),
        (data.list_response("", ["\\Noselect"], delimiter="."), b'* LIST (\\Noselect) "." ""\r\n'),
        (
            data.list_response("New", [], old_name="Old"),
            b'* LIST () "." New ("OLDNAME" (Old))\r\n',
        ),
        (
            data.status("blurdybloop", [("MESSAGES", 231), ("UIDNEXT", 44292)]),
            b"* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)\r\n",
        ),
        (data.search([2, 3, 6]), b"* SEARCH 2 3 6\r\n"),
        (data.search([]), b"* SEARCH\r\n"),
        (data.search([2, 5, 6], modseq=917162500), b"* SEARCH 2 5 6 (MODSEQ 917162500)\r\n"),
        (data.search([], modseq=5), b"* SEARCH\r\n"),
        (
            data.esearch(b"A282", uid=False, results=[2, 10, 11], returns=["MIN", "COUNT"]),
            b'* ESEARCH (TAG "A282") MIN 2 COUNT 3\r\n',
        ),
        (
            data.esearch(b"A283", uid=True, results=[2, 10, 11], returns=["ALL"]),
            b'* ESEARCH (TAG "A283") UID ALL 2,10:11\r\n',
        ),
        (
            data.esearch(b"A284", uid=False, results=[], returns=["MIN", "MAX", "ALL", "COUNT"]),
            b'* ESEARCH (TAG "A284") COUNT 0\r\n',
        ),
        (
            data.esearch(b"a", uid=False, results=[], returns=["MIN"]),
            b'* ESEARCH (TAG "a")\r\n',
        ),
        (
            data.esearch(b"a", uid=True, results=[4], returns=["MAX"], modseq=9),
            b'* ESEARCH (TAG "a") UID MAX 4 MODSEQ 9\r\n',
        ),
        (
            data.fetch(12, [(b"FLAGS", b"(\\Seen)"), (b"UID", b"4827313")]),
            b"* 12 FETCH (FLAGS (\\Seen) UID 4827313)\r\n",
        ),
        (data.namespace(), b'* NAMESPACE (("" ".")) NIL NIL\r\n'),
        (data.id_response(None), b"* ID NIL\r\n"),
        (
            data.id_response({"name": "mailsuite", "version": None}),
            b'* ID ("name" "mailsuite" "version" NIL)\r\n',
        ),
        (
            data.quota("", [("STORAGE", 10, 512), ("MESSAGE", 3, 1000)]),
            b'* QUOTA "" (STORAGE 10 512 MESSAGE 3 1000)\r\n',
        ),
        (data.quotaroot("INBOX", [""]), b'* QUOTAROOT INBOX ""\r\n'),
        (data.quotaroot("comp.mail.mime", []), b"* QUOTAROOT comp.mail.mime\r\n"),
    ],
)
def test_data_responses(line: bytes, wire: bytes) -> None:
    """Each untagged response builder matches the RFC examples byte for byte."""
    assert line == wire
