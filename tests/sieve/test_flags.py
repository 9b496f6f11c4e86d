"""Flag lists as imap4flags handles them (RFC 5232 3)."""

from __future__ import annotations

from mailsuite.sieve.flags import add_flags, parse_flags, remove_flags


def test_strings_split_on_spaces_and_dedupe_case_insensitively() -> None:
    """Each string may hold several flags; duplicates differing in case collapse."""
    assert parse_flags(["\\seen  Junk", "junk", "\\SEEN $Label1"]) == ("\\Seen", "Junk", "$Label1")


def test_unstorable_flags_are_dropped() -> None:
    """\\Recent, unknown system flags and non-atoms never reach the store."""
    assert parse_flags(["\\Recent \\Bogus ok bad(paren) a*b \\Draft"]) == ("ok", "\\Draft")


def test_add_and_remove() -> None:
    """addflag keeps the first spelling; removeflag compares case-insensitively."""
    current = parse_flags(["\\Seen A"])
    current = add_flags(current, ["a B"])
    assert current == ("\\Seen", "A", "B")
    assert remove_flags(current, ["\\SEEN b"]) == ("A",)
