"""dovecot-uidlist and dovecot-keywords in Dovecot's exact formats."""

from __future__ import annotations

import pytest

from mailsuite.store.maildir.uidlist import (
    UidListError,
    format_keywords,
    format_uidlist,
    parse_keywords,
    parse_uidlist,
)

DOVECOT = (
    b"3 V1795441070 N3 G41ff2b26ae41046ba12c000083ecc375\n"
    b"1 :1795441070.M640132P11425.vm,S=28,W=32\n"
    b"2 W1034 :1795441070.M660365P11426.vm,S=28\n"
)


def test_dovecot_file_round_trips_byte_for_byte() -> None:
    """A uidlist written by Dovecot 2.3 is parsed and written back unchanged."""
    ul = parse_uidlist(DOVECOT)
    assert (ul.uidvalidity, ul.nextuid, ul.guid) == (
        1795441070,
        3,
        "41ff2b26ae41046ba12c000083ecc375",
    )
    assert ul.records[2] == ("W1034", "1795441070.M660365P11426.vm,S=28")
    assert format_uidlist(ul) == DOVECOT


def test_version_1_files_are_read() -> None:
    """An old version 1 uidlist keeps its UIDs (flags in names are not part of the base)."""
    ul = parse_uidlist(b"1 1000 5\n3 abc.host:2,S\n4 def.host\n")
    assert ul.uidvalidity == 1000 and ul.nextuid == 5
    assert ul.by_base() == {"abc.host": 3, "def.host": 4}


@pytest.mark.parametrize(
    "data",
    [b"", b"garbage\n", b"3 N5\n", b"3 V1 N5\n2 :a\n1 :b\n", b"3 V1 N5\nx :a\n", b"3 V1 N2\n1 a\n"],
)
def test_damaged_uidlists_are_refused(data: bytes) -> None:
    """A damaged uidlist raises UidListError instead of inventing UIDs."""
    with pytest.raises(UidListError):
        parse_uidlist(data)


def test_nextuid_never_below_highest_record() -> None:
    """N is raised above the highest UID present so a UID is never handed out twice."""
    assert parse_uidlist(b"3 V1 N2\n7 :a\n").nextuid == 8


def test_keywords_file_round_trip() -> None:
    """dovecot-keywords maps numbers to keywords, with gaps preserved."""
    kws = parse_keywords(b"0 $Forwarded\n2 Junk\nbad line\n30 toomany\n")
    assert kws == ["$Forwarded", None, "Junk"]
    assert format_keywords(kws) == b"0 $Forwarded\n2 Junk\n"
