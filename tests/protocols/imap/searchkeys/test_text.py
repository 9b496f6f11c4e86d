"""Text matching rules of SEARCH: folding, white space, address forms, sent dates."""

from __future__ import annotations

import base64
import datetime

import pytest

from mailsuite.protocols.imap.searchkeys.text import (
    Needle,
    address_forms,
    body_may_contain,
    decoded,
    header_may_contain,
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


def _utf16_part() -> bytes:
    return (
        b"Content-Type: text/plain; charset=utf-16\nContent-Transfer-Encoding: binary\n\n"
        + "hidden word".encode("utf-16")  # with its byte-order mark
    )


TRICKY: list[bytes] = [
    b"Subject: plain\n\nplain ascii text\nsecond line\x1cthird\n",
    b"Content-Type: text/plain; charset=utf-7\n\n+AGgAaQBkAGQAZQBu- word\n",
    _utf16_part(),
    b"Content-Type: text/plain; charset=iso-2022-jp\n\nab\x1b(Bcd jp\n",
    b"Content-Type: text/plain; charset=hz-gb-2312\n\nab~\ncd hz\n",
    b"Content-Type: text/plain; charset=cp500\n\nKLMN\n",
    b"Content-Type: text/plain; charset (c) = utf-7\n\n+AGgAaQ-\n",
    b"Content-Type: text/plain; charset*=utf-7''\n\n+AGgAaQ-\n",
    b"Content-Type: text/plain; charset*0=utf-7\n\n+AGgAaQ-\n",
    b'Content-Type: text/plain; charset="UTF-7"\n\n+AGgAaQ-\n',
    "Content-Type: text/plain; charset=utf-8\n\n\u212aelvin Stra\u00dfe \ufb01ne\n".encode(),
    b"Content-Type: text/plain; charset=us-ascii\nContent-Transfer-Encoding: base64\n\n"
    + base64.b64encode(b"secret base"),
    b"Content-Type: text/plain\nContent-Transfer-Encoding: QUOTED-PRINTABLE\n\nso=\nft br=65ak\n",
    b'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain; '
    b"charset=iso-8859-1\n\npart one\n--b\nContent-Type: text/html; charset=utf-8\n\n"
    b"<b>two</b>\n--b--\n",
]


def _needles(text: str) -> set[str]:
    out = {text[i : i + n] for n in (1, 2, 3) for i in range(len(text) - n + 1)}
    words = text.split()
    out |= {f"{a} {b}" for a, b in zip(words, words[1:], strict=False)}
    return {n for n in out if n.strip()}


@pytest.mark.parametrize("raw", TRICKY, ids=range(len(TRICKY)))
def test_body_prefilter_never_hides_a_match(raw: bytes) -> None:
    """Whatever the decoded text parts contain, the raw-bytes prefilter never rules out."""
    from mailsuite.message import Message

    msg = Message.from_bytes(raw)
    parts = list(msg.text_parts())
    full = msg.full_bytes()
    for part in parts:
        for sub in _needles(part):
            needle = Needle.of(sub)
            if any(needle.found_in(p) for p in parts):
                assert body_may_contain(full, needle), (sub, raw)


def test_body_prefilter_rules_out_plain_mail() -> None:
    """In a plain ASCII message a missing word is ruled out from the raw bytes alone."""
    raw = b"Content-Type: text/plain; charset=utf-8\r\n\r\nhello world\r\n"
    assert not body_may_contain(raw, Needle.of("zzz"))
    assert not body_may_contain(raw, Needle.of("hello  there"))
    assert body_may_contain(raw, Needle.of("HELLO\tWORLD"))
    assert body_may_contain(raw, Needle.of("caf\u00e9"))  # non-ASCII needles are not ruled out


HEADERS: list[bytes] = [
    b"Subject: a very long\r\n\tfolded  subject\r\nX-Tag: one\x1ctwo\r\n\r\n",
    b"Subject: =?utf-8?q?caf=C3=A9_au_lait?= =?utf-8?b?TcO8bmNoZW4=?=\r\n\r\n",
    b"Subject: Stra\xdfe M\xfcller \xe2\x84\xaaelvin\r\nX-Other: plain\r\n\r\n",
    b"Subject: tail  spaces  \r\nList-Id: <dev.lists.example.org>\r\n\r\n",
]


@pytest.mark.parametrize("block", HEADERS, ids=range(len(HEADERS)))
def test_header_prefilter_never_hides_a_match(block: bytes) -> None:
    """Whatever a decoded field value contains, the raw-header prefilter never rules out."""
    from mailsuite.message import Message

    msg = Message.from_bytes(block + b"body\r\n")
    for name in msg.header_names():
        for value in msg.header_values(name):
            for sub in _needles(value):
                needle = Needle.of(sub)
                if needle.found_in(value):
                    assert header_may_contain(msg.header_bytes(), needle), (sub, block)


def test_header_prefilter_rules_out_plain_headers() -> None:
    """A word absent from a plain ASCII header is ruled out without parsing the fields."""
    block = b"Subject: hello\r\n world\r\n\r\n"
    assert not header_may_contain(block, Needle.of("zzz"))
    assert header_may_contain(block, Needle.of("hello world"))
    assert header_may_contain(b"Subject: =?utf-8?q?zzz?=\r\n\r\n", Needle.of("zzz"))
