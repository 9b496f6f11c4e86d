"""Header blocks, unfolding and RFC 2047 decoding: mailsuite.message.headers."""

from __future__ import annotations

import pytest

from mailsuite.message.headers import HeaderBlock, decode_2047, for_humans, no_lf

HEADER = (
    b"Subject: hello\r\n"
    b"  world\r\n"
    b"X-Dup: one\r\n"
    b"line without colon\r\n"
    b"x-dup: two\r\n"
    b"Spaced : value\r\n"
    b"\r\n"
)


def test_fields_keep_order_folds_and_colonless_lines() -> None:
    """Every line lands in exactly one field, so the fields add up to the header."""
    block = HeaderBlock(HEADER)
    fields = block.fields()
    assert [n for n, _ in fields] == ["Subject", "X-Dup", "", "x-dup", "Spaced"]
    assert b"".join(raw for _, raw in fields) + b"\r\n" == HEADER
    assert block.names() == ["Subject", "X-Dup", "x-dup", "Spaced"]


def test_raw_values_are_case_insensitive_and_keep_folds() -> None:
    """Lookups ignore case, return every instance, and keep the folding white space."""
    block = HeaderBlock(HEADER)
    assert block.raw_values("x-DUP") == [b" one", b" two"]
    assert block.raw_values("subject") == [b" hello\r\n  world"]
    assert block.raw_values("spaced") == [b" value"]
    assert block.first("missing") is None


@pytest.mark.parametrize(
    ("names", "exclude", "want"),
    [
        (("x-dup",), False, b"X-Dup: one\r\nx-dup: two\r\n\r\n"),
        (("SUBJECT", "nope"), False, b"Subject: hello\r\n  world\r\n\r\n"),
        (("nope",), False, b"\r\n"),
        (
            ("subject", "x-dup", "spaced"),
            True,
            b"line without colon\r\n\r\n",
        ),
    ],
)
def test_select_header_fields(names: tuple[str, ...], exclude: bool, want: bytes) -> None:
    """HEADER.FIELDS(.NOT) keeps header order and always ends with the blank line."""
    assert HeaderBlock(HEADER).select(names, exclude=exclude) == want


def test_header_without_blank_line_or_fields() -> None:
    """An empty or unterminated header parses without error."""
    assert HeaderBlock(b"").fields() == []
    assert HeaderBlock(b"\r\n").fields() == []
    assert HeaderBlock(b"A: b").raw_values("a") == [b" b"]


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        (b"plain text", "plain text"),
        (b"=?utf-8?q?caf=C3=A9?=", "caf\u00e9"),
        (b"=?ISO-8859-1?Q?Andr=E9?= Pirard", "Andr\u00e9 Pirard"),
        # RFC 2047 section 8 examples: white space between encoded words goes.
        (b"(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", "(ab)"),
        (b"(=?ISO-8859-1?Q?a?=  \t =?ISO-8859-1?Q?b?=)", "(ab)"),
        (b"(=?ISO-8859-1?Q?a_b?=)", "(a b)"),
        (b"=?utf-8?b?w6l0w6k=?=", "\u00e9t\u00e9"),
        (b"=?utf-8?b?w6l0w6k?=", "\u00e9t\u00e9"),  # missing padding tolerated
        (b"=?utf-8*fr?q?x?=", "x"),  # RFC 2231 section 5 language suffix
        (b"=?x-unknown?q?abc?= tail", "=?x-unknown?q?abc?= tail"),
        (b"\xc3\xa9t\xc3\xa9", "\u00e9t\u00e9"),  # raw UTF-8 (RFC 6532)
        (b"\xe4\xf6", "\u00e4\u00f6"),  # raw Latin-1 fallback
    ],
)
def test_decode_2047(raw: bytes, want: str) -> None:
    """Encoded words decode, unknown charsets stay as written, 8-bit text never fails."""
    assert decode_2047(raw) == want


def test_no_lf_and_for_humans() -> None:
    """Envelope strings lose line breaks; subjects and names also lose extra white space."""
    assert no_lf(" <a@b>\r\n <c@d>  ") == "<a@b> <c@d>  "
    assert no_lf("a\r\nb") == "a b"
    assert no_lf("nul\x00") == "nul\ufffd"
    assert for_humans(" a\r\n\tb   c\t") == "a b c"
