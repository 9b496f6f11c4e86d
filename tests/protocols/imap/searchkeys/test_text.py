"""Text matching rules of SEARCH: folding, white space, address forms, sent dates."""

from __future__ import annotations

import datetime

import pytest

from mailsuite.protocols.imap.searchkeys.text import (
    Needle,
    address_forms,
    decoded,
    parse_sent_date,
)

FOUND: list[tuple[str, str, bool]] = [
    ("report", "Quarterly REPORT", True),
    ("RePoRt", "quarterly report", True),
    ("stra\u00dfe", "STRASSE", True),  # full case folding
    ("caf\u00e9", "CAFE\u0301", True),  # NFC: e + combining acute is \u00e9
    ("a b", "a\t\t b", True),  # any run of white space
    ("a b", "a\r\n b", True),
    ("a  b", "a b", True),
    ("ab", "a b", False),
    (" b", "ab", False),
    ("a b", "ab", False),
    ("", "", True),
    ("x", "", False),
    ("\u00fc", "\u00dc", True),
    ("\u043f\u0440\u0438\u0432\u0435\u0442", "\u041f\u0420\u0418\u0412\u0415\u0422", True),
]


@pytest.mark.parametrize(("needle", "haystack", "found"), FOUND)
def test_needle(needle: str, haystack: str, found: bool) -> None:
    """A search string is found case-insensitively, across any run of white space."""
    assert Needle.of(needle).found_in(haystack) is found


FORMS: list[tuple[str, list[str]]] = [
    ('"Doe, John" <john@example.com>', ["Doe, John <john@example.com>"]),
    ("john@example.com (John Doe)", ["John Doe <john@example.com>"]),
    (
        "=?utf-8?q?J=C3=B6rg?= <j@example.de>, b@example.org",
        ["J\u00f6rg <j@example.de>", "b@example.org"],
    ),
    ('"=?utf-8?q?J=C3=B6rg?=" <j@example.de>', ["J\u00f6rg <j@example.de>"]),
    ("undisclosed-recipients:;", ["undisclosed-recipients"]),
    ("<<@@>>", []),
]


@pytest.mark.parametrize(("raw", "forms"), FORMS)
def test_address_forms(raw: str, forms: list[str]) -> None:
    """Address fields are also matched as ``Name <local@domain>`` with the name decoded."""
    got = [f for f in address_forms([raw]) if f]
    assert got == forms


D = datetime.date


@pytest.mark.parametrize(
    ("value", "day"),
    [
        ("Sun, 1 Mar 2026 23:30:00 -0800", D(2026, 3, 1)),  # the day as written, zone ignored
        ("Mon, 02 Mar 2026 00:10:00 +1400", D(2026, 3, 2)),
        ("20 Feb 26 09:00 EST", D(2026, 2, 20)),  # RFC 5322 4.3 two-digit year
        ("20 Feb 99 09:00 EST", D(1999, 2, 20)),
        ("31 Feb 2026 10:00 +0000", None),
        ("99 Foo 2026 99:99", None),
        ("", None),
        ("tomorrow", None),
    ],
)
def test_sent_date(value: str, day: datetime.date | None) -> None:
    """The sent date is the calendar day written in the Date: field, None when unreadable."""
    assert parse_sent_date(value) == day


def test_decoded_keeps_undecodable_bytes() -> None:
    """Raw 8-bit header text and unknown charsets pass through RFC 2047 decoding intact."""
    assert decoded("=?x-unknown?q?strange?= =?utf-8?q?caf=C3=A9?=").endswith("caf\u00e9")
    assert "strange" in decoded("=?x-unknown?q?strange?=")
    assert decoded(b"M\xfcller".decode("utf-8", "surrogateescape")) == "M\u00fcller"
