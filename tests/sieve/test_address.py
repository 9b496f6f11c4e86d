"""Address handling: header parsing, address parts and subaddresses (RFC 5228 2.7.4, RFC 5233)."""

from __future__ import annotations

import pytest

from mailsuite.sieve.address import (
    AddressPart,
    address_part,
    header_addresses,
    normalize_address,
)


def test_header_addresses_flatten_lists_and_groups() -> None:
    """Display names, several headers, groups and empty groups reduce to addr-specs."""
    values = [
        '"Tim, Jr." <tim@example.com>, bob@example.org',
        "friends: a@x.example, b@y.example;",
        "undisclosed-recipients:;",
    ]
    assert header_addresses(values) == [
        "tim@example.com",
        "bob@example.org",
        "a@x.example",
        "b@y.example",
    ]


def test_header_addresses_survive_garbage() -> None:
    """Unparseable header text gives no addresses instead of an exception."""
    assert header_addresses(["<<<>>>", ""]) == []


@pytest.mark.parametrize(
    ("part", "expected"),
    [
        (AddressPart.ALL, "ken+sieve@example.org"),
        (AddressPart.LOCALPART, "ken+sieve"),
        (AddressPart.DOMAIN, "example.org"),
        (AddressPart.USER, "ken"),
        (AddressPart.DETAIL, "sieve"),
    ],
)
def test_address_parts(part: AddressPart, expected: str) -> None:
    """Each address part of a subaddressed address."""
    assert address_part("ken+sieve@example.org", part, "+") == expected


def test_detail_absent_and_empty() -> None:
    """Without a separator there is no detail; with a trailing separator it is "" (RFC 5233 4)."""
    assert address_part("ken@example.org", AddressPart.DETAIL, "+") is None
    assert address_part("ken@example.org", AddressPart.USER, "+") == "ken"
    assert address_part("ken+@example.org", AddressPart.DETAIL, "+") == ""
    assert address_part("ken+@example.org", AddressPart.USER, "+") == "ken"


def test_first_separator_splits_and_any_delimiter_char_counts() -> None:
    """The first separator splits; every character of the delimiter setting is one."""
    assert address_part("a+b+c@x", AddressPart.DETAIL, "+") == "b+c"
    assert address_part("a-b+c@x", AddressPart.USER, "+-") == "a"
    assert address_part("a-b+c@x", AddressPart.DETAIL, "+-") == "b+c"


def test_null_reverse_path_is_empty_for_every_part() -> None:
    """The null reverse-path matches as "" whatever the part (RFC 5228 5.4)."""
    for part in (AddressPart.ALL, AddressPart.LOCALPART, AddressPart.DOMAIN, AddressPart.USER):
        assert address_part("", part, "+") == ""


def test_address_without_domain() -> None:
    """A bare local part has an empty domain."""
    assert address_part("root", AddressPart.DOMAIN, "+") == ""
    assert address_part("root", AddressPart.LOCALPART, "+") == "root"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bart@example.com", "bart@example.com"),
        ("<bart@example.com>", "bart@example.com"),
        ("Bart Simpson <bart@example.com>", "bart@example.com"),
        ('"b art"@example.com', '"b art"@example.com'),
        ("user@[192.0.2.1]", "user@[192.0.2.1]"),
        ("jörg@bücher.example", "jörg@bücher.example"),
        ("Bart@Example.COM", "Bart@example.com"),  # domains fold, local parts do not
        ("no-at-sign", None),
        ("two@@example.com", None),
        ("a b@example.com", None),
        ("", None),
        ('"a\\\rb"@example.com', None),  # no raw CR, even escaped in a quoted local part
        ("a@", None),
        ("@example.com", None),
    ],
)
def test_normalize_address(text: str, expected: str | None) -> None:
    """Only real addresses pass the redirect/vacation address check."""
    assert normalize_address(text) == expected
