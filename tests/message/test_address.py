"""RFC 5322 address lists for ENVELOPE: mailsuite.message.address."""

from __future__ import annotations

import pytest

from mailsuite.message.address import parse_address_list
from mailsuite.message.model import Address as A

GROUP_END = A(None, None, None, None)


@pytest.mark.parametrize(
    ("value", "want"),
    [
        ("a@b", (A(None, None, "a", "b"),)),
        ('"Joe Q. Public" <john@example.com>', (A("Joe Q. Public", None, "john", "example.com"),)),
        ("Joe   Q.\tPublic <j@x>", (A("Joe Q. Public", None, "j", "x"),)),
        ("john@x (John Doe)", (A("John Doe", None, "john", "x"),)),
        ("john (John Doe)", (A("John Doe", None, "john", "MISSING_DOMAIN"),)),
        ("<@route,@r2:x@y>", (A(None, "@route,@r2", "x", "y"),)),
        ('"q\\"x" <a@b>', (A('q"x', None, "a", "b"),)),
        ('"john smith"@x', (A(None, None, '"john smith"', "x"),)),
        ("Foo <>", (A("Foo", None, "MISSING_MAILBOX", "MISSING_DOMAIN"),)),
        ("=?utf-8?q?J?=  <k@y>", (A("=?utf-8?q?J?=", None, "k", "y"),)),
        # RFC 3501 section 7.4.2 group syntax
        (
            "a@b, Group: c@d, e@f;, g@h",
            (
                A(None, None, "a", "b"),
                A(None, None, "Group", None),
                A(None, None, "c", "d"),
                A(None, None, "e", "f"),
                GROUP_END,
                A(None, None, "g", "h"),
            ),
        ),
        ("undisclosed-recipients:;", (A(None, None, "undisclosed-recipients", None), GROUP_END)),
        ("Unclosed: a@b", (A(None, None, "Unclosed", None), A(None, None, "a", "b"), GROUP_END)),
        ("a@b,, c@d", (A(None, None, "a", "b"), A(None, None, "c", "d"))),
        ("a@b; c@d", (A(None, None, "a", "b"),)),  # stray ";" ends the list (as Dovecot)
        ("a@b c@d", (A(None, None, "a", "b"),)),  # missing comma: the rest is dropped
        ("a @ b . c", (A(None, None, "a", "b.c"),)),
        ("a@b (first) (second)", (A("second", None, "a", "b"),)),  # last comment, as Dovecot
        ("john@x (John", (A(None, None, "john", "x"),)),  # an open comment names nothing
        ('"a"."b"@c', (A(None, None, "a.b", "c"),)),  # RFC 5322 obs-local-part
        ("", None),
        ("   ", None),
    ],
)
def test_parse_address_list(value: str, want: object) -> None:
    """Addresses, routes, groups and broken input all map to RFC 3501 address structures."""
    assert parse_address_list(value) == want


def test_none_is_nil() -> None:
    """A missing header is NIL."""
    assert parse_address_list(None) is None


@pytest.mark.parametrize(
    "value",
    [
        "<<<>>> ,;:@",
        '"',
        "(",
        "((a)",
        "[",
        "\\",
        ":::;;;",
        "@@@",
        "a@b@c",
        "\x00\udcff@x",
        "<" * 500,
    ],
)
def test_garbage_never_raises(value: str) -> None:
    """Any input gives a tuple of well-formed addresses (or NIL), never an exception."""
    got = parse_address_list(value)
    assert got is None or all(isinstance(a, A) for a in got)
    for a in got or ():
        # an address is either a group marker or has both a mailbox and a host
        if a.host is None:
            assert a.name is None and a.adl is None
        else:
            assert a.mailbox and a.host
