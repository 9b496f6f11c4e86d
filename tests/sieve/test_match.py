"""Comparators and match types (RFC 5228 2.7, RFC 4790)."""

from __future__ import annotations

import random
import re

import pytest

from mailsuite.sieve.match import Comparator, Matcher, MatchType, ascii_casefold

CASEMAP = Comparator.ASCII_CASEMAP
OCTET = Comparator.OCTET


def m(mt: MatchType, *keys: str, cmp: Comparator = CASEMAP) -> Matcher:
    return Matcher(cmp, mt, keys)


def test_ascii_casefold_touches_only_ascii_letters() -> None:
    """i;ascii-casemap folds A-Z only; other letters keep their case (RFC 4790 9.2)."""
    assert ascii_casefold("HeLLo ÄÖÜ İ") == "hello ÄÖÜ İ"


@pytest.mark.parametrize(
    ("cmp", "key", "value", "expected"),
    [
        (CASEMAP, "Hello", "hello", True),
        (OCTET, "Hello", "hello", False),
        (OCTET, "Hello", "Hello", True),
        (CASEMAP, "Ä", "ä", False),
        (CASEMAP, "", "", True),
        (CASEMAP, "a", "ab", False),
    ],
)
def test_is(cmp: Comparator, key: str, value: str, expected: bool) -> None:
    """:is compares whole values under the comparator."""
    assert m(MatchType.IS, key, cmp=cmp).match(value) is expected


@pytest.mark.parametrize(
    ("cmp", "key", "value", "expected"),
    [
        (CASEMAP, "MONEY", "make money fast", True),
        (OCTET, "MONEY", "make money fast", False),
        (CASEMAP, "", "anything", True),  # RFC 5228 2.7.1: "" is contained in everything
        (CASEMAP, "", "", True),
        (CASEMAP, "xyz", "xy", False),
    ],
)
def test_contains(cmp: Comparator, key: str, value: str, expected: bool) -> None:
    """:contains is a substring test under the comparator."""
    assert m(MatchType.CONTAINS, key, cmp=cmp).match(value) is expected


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("*", "", True),
        ("*", "anything at all", True),
        ("?", "", False),
        ("?", "x", True),
        ("?*", "", False),  # RFC 5228 5.7 example: "?*" needs at least one character
        ("?*", "a", True),
        ("*make*money*fast*", "Please MAKE lots of Money really fast!", True),
        ("*make*money*fast*", "make fast money", False),
        ("*university*dipl*mas*", "University diplomas!", True),
        ("a*b", "ab", True),
        ("a*b", "axxb", True),
        ("a*b", "axxbc", False),
        ("a*b*b", "abb", True),
        ("a*b*b", "ab", False),
        ("*a?c*", "xxabcxx", True),
        ("*a?c*", "xxacxx", False),
        ("\\*", "*", True),  # the script's "\\*": a literal star
        ("\\*", "x", False),
        ("\\?", "?", True),
        ("\\?", "x", False),
        ("a\\\\b", "a\\b", True),
        ("[*]", "[list] hi", False),
        ("[*]*", "[list] hi", True),
        ("*.*", "no dot", False),
        ("line*end", "line\r\nend", True),  # "*" crosses line ends
        ("ä?", "äö", True),
    ],
)
def test_matches(pattern: str, value: str, expected: bool) -> None:
    """:matches is a glob over the whole value with *, ? and backslash escapes."""
    assert m(MatchType.MATCHES, pattern).match(value) is expected


def test_matches_octet_is_case_sensitive() -> None:
    """With i;octet, :matches compares case-sensitively."""
    assert not m(MatchType.MATCHES, "*MONEY*", cmp=OCTET).match("money")
    assert m(MatchType.MATCHES, "*money*", cmp=OCTET).match("money")


def test_any_key_any_value() -> None:
    """A test over lists is true when any value matches any key (RFC 5228 2.7)."""
    matcher = m(MatchType.IS, "a", "b")
    assert matcher.match_any(["x", "b"])
    assert not matcher.match_any(["x", "y"])
    assert not matcher.match_any([])


def _reference(pattern: str, value: str) -> bool:
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "*" else "." if c == "?" else re.escape(c))
        i += 1
    return re.fullmatch("".join(out), value, re.DOTALL) is not None


def test_matches_agrees_with_a_regex_reference() -> None:
    """On thousands of random patterns and values the glob matcher agrees with a regex."""
    rng = random.Random(5228)
    for _ in range(5000):
        pattern = "".join(rng.choice("ab*?\\") for _ in range(rng.randint(0, 7)))
        value = "".join(rng.choice("ab*?\\") for _ in range(rng.randint(0, 9)))
        got = m(MatchType.MATCHES, pattern, cmp=OCTET).match(value)
        assert got is _reference(pattern, value), (pattern, value)


def test_matches_is_not_exponential_on_hostile_input() -> None:
    """A many-star pattern against a long non-matching value completes (no backtracking blowup)."""
    pattern = "*a" * 30 + "*b"
    value = "a" * 20000
    assert not m(MatchType.MATCHES, pattern).match(value)
