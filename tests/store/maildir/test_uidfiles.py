"""The uidlist and keywords files of a core: in-place appends and line-level removals."""

from __future__ import annotations

import os

from mailsuite.store.api import FlagMode
from mailsuite.store.maildir import MaildirStore
from mailsuite.store.maildir.uidfiles import _without_lines
from mailsuite.store.maildir.uidlist import format_records, format_uidlist, parse_uidlist

from .conftest import msg


def test_without_lines_drops_exactly_the_lines_of_removed_uids() -> None:
    """First, middle and last records go; extension fields and unknown UIDs are handled."""
    ul = parse_uidlist(b"3 V1 N9 Gg\n1 :a\n2 G123 :b\n5 :c\n8 :d\n")
    body = format_records(ul, sorted(ul.records))
    for gone in ([1], [2], [8], [1, 5, 8], [2, 3]):
        after = parse_uidlist(b"3 V1 N9 Gg\n" + body)
        for uid in gone:
            after.records.pop(uid, None)
        got = _without_lines(body, ul, after, gone)
        assert got == format_records(after, sorted(after.records))
    changed = parse_uidlist(b"3 V1 N9 Gg\n" + body)
    del changed.records[1]
    changed.records[9] = ("", "e")
    assert _without_lines(body, ul, changed, [1]) is None  # not only a removal


def test_expunge_rewrites_the_uidlist_as_dovecot_would(store: MaildirStore) -> None:
    """After an expunge the uidlist is exactly the version 3 file of the remaining records."""
    mbox = store.open_mailbox("INBOX")
    for i in range(6):
        mbox.append(msg(i), ["$Work"] if i == 2 else ())
    mbox.set_flags([1, 4, 6], ["\\Deleted"], FlagMode.ADD)
    assert mbox.expunge() == [1, 4, 6]
    with open(os.path.join(store.root, "dovecot-uidlist"), "rb") as f:
        data = f.read()
    ul = parse_uidlist(data)
    assert sorted(ul.records) == [2, 3, 5]
    assert data == format_uidlist(ul)
