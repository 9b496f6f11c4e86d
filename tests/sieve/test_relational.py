"""relational (RFC 5231) and the i;ascii-numeric comparator (RFC 4790 9.1)."""

from __future__ import annotations

import pytest

from mailsuite.sieve import Discard, FileInto
from mailsuite.sieve.match import Comparator, Matcher, MatchType
from tests.sieve.support import run

REQ = 'require ["relational", "comparator-i;ascii-numeric", "envelope", "imap4flags"];'

# The example message of RFC 5231 section 7.
RFC5231_MESSAGE = """\
Received: from mail.example.com by mx.example.com; Mon, 1 Jan 2024 00:00:00 +0000
Received: from host.example.com by mail.example.com; Mon, 1 Jan 2024 00:00:00 +0000
To: foo@example.com.invalid, baz@example.com.invalid
Cc: qux@example.com.invalid
From: "Bar" <bar@example.com.invalid>
Subject: Example message
X-Priority: 1

body
"""


def holds(test: str, message: str = RFC5231_MESSAGE, **kw: object) -> bool:
    return run(f"{REQ} if {test} {{ discard; }}", message, **kw) == [Discard()]


@pytest.mark.parametrize(
    ("value", "key", "expected"),
    [
        ("10", "9", True),  # numerically, not as strings
        ("9", "10", False),
        ("007", "7", False),
        ("12abc", "11", True),  # leading digits only
        ("abc", "99999999999999999999", True),  # no digits: positive infinity
        ("", "1", True),
    ],
)
def test_ascii_numeric_ordering(value: str, key: str, expected: bool) -> None:
    """i;ascii-numeric orders by the leading digits; no digits is infinity (RFC 4790 9.1.1)."""
    m = Matcher(Comparator.ASCII_NUMERIC, MatchType.VALUE, (key,), "gt")
    assert m.match(value) is expected


def test_ascii_numeric_equality() -> None:
    """:is with i;ascii-numeric compares numbers: "007" equals "7"; non-numbers equal each other."""
    m = Matcher(Comparator.ASCII_NUMERIC, MatchType.IS, ("7",))
    assert m.match("007") and not m.match("8")
    assert Matcher(Comparator.ASCII_NUMERIC, MatchType.IS, ("x",)).match("y")


@pytest.mark.parametrize(
    ("test", "expected"),
    [
        ('header :value "lt" :comparator "i;ascii-numeric" "x-priority" "3"', True),
        ('header :value "ge" :comparator "i;ascii-numeric" "x-priority" "3"', False),
        ('header :value "eq" :comparator "i;ascii-numeric" "x-priority" ["5", "1"]', True),
        ('header :value "ne" :comparator "i;ascii-numeric" "x-priority" "1"', False),
        ('address :count "ge" :comparator "i;ascii-numeric" ["to", "cc"] "3"', True),
        ('address :count "gt" :comparator "i;ascii-numeric" ["to", "cc"] "3"', False),
        ('header :count "ge" :comparator "i;ascii-numeric" ["to", "cc"] "3"', False),
        ('header :count "eq" :comparator "i;ascii-numeric" ["to", "cc"] "2"', True),
        ('header :count "eq" :comparator "i;ascii-numeric" "received" "2"', True),
        ('header :count "ge" :comparator "i;ascii-numeric" ["received", "subject"] "3"', True),
        ('header :count "eq" :comparator "i;ascii-numeric" "x-absent" "0"', True),
        ('address :value "gt" :all :comparator "i;ascii-casemap" "from" "M"', False),
        ('address :value "lt" :all :comparator "i;ascii-casemap" "from" "C"', True),
        ('address :value "LE" :localpart "from" "BAR"', True),  # relation is case-insensitive
        ('header :value "gt" :comparator "i;octet" "subject" "Z"', False),  # "E" < "Z"
        ('header :value "gt" :comparator "i;octet" "subject" "D"', True),
    ],
)
def test_rfc5231_relations(test: str, expected: bool) -> None:
    """:value compares "value RELATION key", :count counts values (RFC 5231 4, 7)."""
    assert holds(test) is expected


def test_envelope_count_ignores_null_reverse_path() -> None:
    """:count on the envelope counts real addresses only."""
    test = 'envelope :count "eq" :comparator "i;ascii-numeric" ["from", "to"] "{}"'
    assert holds(test.format(2), mail_from="a@b.example")
    assert holds(test.format(1), mail_from="")


def test_hasflag_count() -> None:
    """hasflag :count counts the flags in the variable (RFC 5232 4 with RFC 5231)."""
    script = REQ + ' setflag "a b c"; if hasflag :count "eq" :comparator "i;ascii-numeric" "3"'
    assert run(script + " { discard; }") == [Discard()]


def test_rfc5231_spam_example() -> None:
    """RFC 5231 7: more than 5 To addresses is spam; else sort by From."""
    script = """
    require ["relational", "comparator-i;ascii-numeric", "fileinto"];
    if header :value "lt" :comparator "i;ascii-numeric" ["x-priority"] ["3"] {
        fileinto "Priority";
    }
    elsif address :count "gt" :comparator "i;ascii-numeric" ["to"] ["5"] {
        fileinto "Spam";
    }
    elsif address :value "gt" :all :comparator "i;ascii-casemap" ["from"] ["M"] {
        fileinto "From N-Z";
    } else {
        fileinto "From A-M";
    }
    """
    assert run(script, RFC5231_MESSAGE) == [FileInto("Priority")]
    many = "To: " + ", ".join(f"u{i}@x.example" for i in range(6)) + "\nFrom: z@x.example\n\nb\n"
    assert run(script, many) == [FileInto("Spam")]
    assert run(script, "To: a@x.example\nFrom: zed@x.example\n\nb\n") == [FileInto("From N-Z")]
    assert run(script, "To: a@x.example\nFrom: al@x.example\n\nb\n") == [FileInto("From A-M")]


@pytest.mark.parametrize(
    ("value", "key", "expected"),
    [
        ("b", "A", True),
        ("B", "a", True),
        ("_", "a", True),  # "_" (0x5F) sorts after "A" (0x41) once a-z become A-Z
        ("_", "A", True),
        ("Ma", "m", True),
        ("M", "m", False),
    ],
)
def test_casemap_ordering_maps_to_upper_case(value: str, key: str, expected: bool) -> None:
    """i;ascii-casemap orders as i;octet after mapping a-z to A-Z (RFC 4790 9.2)."""
    m = Matcher(Comparator.ASCII_CASEMAP, MatchType.VALUE, (key,), "gt")
    assert m.match(value) is expected
