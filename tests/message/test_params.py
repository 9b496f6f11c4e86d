"""MIME parameters and RFC 2231 merging: mailsuite.message.params."""

from __future__ import annotations

import pytest

from mailsuite.message.params import (
    comment_end,
    parse_content_type,
    parse_disposition,
    parse_language,
    parse_params,
    parse_token,
)


@pytest.mark.parametrize(
    ("value", "want"),
    [
        ("text/plain", ("text", "plain", [])),
        (
            ' TEXT/Plain ; Charset="UTF-8" (comment); format=flowed',
            ("TEXT", "Plain", [("Charset", "UTF-8"), ("format", "flowed")]),
        ),
        (
            'multipart/mixed; boundary="a \\"b\\" c"',
            ("multipart", "mixed", [("boundary", 'a "b" c')]),
        ),
        ("(c) text (c) / (c) html", ("text", "html", [])),
        ("text/plain; name=foo bar.txt; x=1", ("text", "plain", [("name", "foo"), ("x", "1")])),
        ("text/plain;;; charset=us-ascii;", ("text", "plain", [("charset", "us-ascii")])),
        ('text/plain; name="unterminated', ("text", "plain", [])),  # dropped, as Dovecot
        ("text", None),
        ("text/pla in; charset=koi8-r", None),  # junk after the subtype (as Dovecot)
        ("multipart/mi:xed; boundary=x", None),
        ("multipart/alterna(tive; boundary=b4", None),  # unterminated comment
        ("text/", None),
        (";;; = x", None),
        ("", None),
    ],
)
def test_parse_content_type(value: str, want: object) -> None:
    """Type, subtype and parameters keep their case; invalid fields give None (the default)."""
    assert parse_content_type(value) == want


@pytest.mark.parametrize(
    ("value", "want"),
    [
        # Dovecot's own rfc2231 test case: pieces in any order, plain and extended mixed.
        (
            "; key*2=ba%; key2*0=a; key3*0*=us-ascii'en'xyz; key*0=\"foo\""
            "; key2*1*=b%25; key3*1=plop%; key*1=baz",
            [("key", "foobazba%"), ("key2*", "''ab%25"), ("key3*", "us-ascii'en'xyzplop%25")],
        ),
        ("; a=1; foo*=utf-8''%41; b=2", [("a", "1"), ("b", "2"), ("foo*", "utf-8''%41")]),
        ('; Name*0="foo"; name*1=bar', [("Name", "foobar")]),
        ("; bar*0*=x; bar*1=y", [("bar*", "xy")]),
        ("; x*y=1", [("x*y", "1")]),
    ],
)
def test_rfc2231_merge(value: str, want: list[tuple[str, str]]) -> None:
    """RFC 2231 continuations merge into one parameter the way Dovecot shows them."""
    assert parse_params(value) == want


def test_disposition_language_token() -> None:
    """Content-Disposition, Content-Language and single tokens parse with comments skipped."""
    assert parse_disposition('attachment; filename*0="a"; filename*1="b.txt"') == (
        "attachment",
        [("filename", "ab.txt")],
    )
    assert parse_disposition("inline") == ("inline", [])
    assert parse_disposition("; x=") is None
    assert parse_disposition("inl(ine") is None
    assert parse_language("en, de (German)") == ("en", "de")
    assert parse_language(",,") == ()
    assert parse_token(" (c) Base64 ") == "Base64"
    assert parse_token("") is None


@pytest.mark.parametrize(
    ("value", "start", "want"),
    [
        ("(a) b", 0, 3),
        ("x (a (nested) \\) c) y", 2, 19),
        ("(open (still", 0, None),
        ("(trailing escape \\", 0, None),
    ],
)
def test_comment_end(value: str, start: int, want: int | None) -> None:
    """A comment ends after its matching parenthesis; nesting and quoted pairs count, none: None."""
    assert comment_end(value, start) == want
