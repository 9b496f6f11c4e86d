"""The date extension (RFC 5260): date parts, zones, date and currentdate tests."""

from __future__ import annotations

import datetime as dt

import pytest

from mailsuite.sieve import FileInto, Keep, Vacation
from mailsuite.sieve.dates import DATE_PARTS, date_part, parse_date_header, parse_zone
from tests.sieve.support import compile_error, message, run

RFC_DATE = "Tue, 1 Feb 2005 09:38:24 -0800"
CET = dt.timezone(dt.timedelta(hours=1))
NOW = dt.datetime(2026, 7, 14, 23, 30, 0, tzinfo=CET)  # a Tuesday, local zone +0100


@pytest.mark.parametrize(
    ("part", "expected"),
    [
        ("year", "2005"),
        ("month", "02"),
        ("day", "01"),
        ("date", "2005-02-01"),
        ("julian", "53402"),  # Modified Julian Day
        ("hour", "09"),
        ("minute", "38"),
        ("second", "24"),
        ("time", "09:38:24"),
        ("iso8601", "2005-02-01T09:38:24-08:00"),
        ("std11", "Tue, 01 Feb 2005 09:38:24 -0800"),
        ("zone", "-0800"),
        ("weekday", "2"),  # 0 is Sunday
    ],
)
def test_date_parts(part: str, expected: str) -> None:
    """Each date part of RFC 5260 4.2, in the formats Pigeonhole uses."""
    d = parse_date_header(RFC_DATE)
    assert d is not None and date_part(d, part) == expected
    assert part in DATE_PARTS


def test_utc_is_z_in_iso8601_and_unknown_zone_is_utc() -> None:
    """UTC prints as "Z" in iso8601; the "-0000" zone (unknown) counts as UTC."""
    d = parse_date_header("Tue, 1 Feb 2005 09:38:24 -0000")
    assert d is not None
    assert date_part(d, "iso8601") == "2005-02-01T09:38:24Z"
    assert date_part(d, "zone") == "+0000"


def test_zones() -> None:
    """:zone arguments are +hhmm/-hhmm; anything else is refused."""
    assert parse_zone("+0130") == dt.timezone(dt.timedelta(minutes=90))
    assert parse_zone("-1100") == dt.timezone(dt.timedelta(hours=-11))
    for bad in ("0100", "+01:00", "+2400", "+0160", "UTC", ""):
        assert parse_zone(bad) is None


def test_unreadable_dates() -> None:
    """A date header that is not a date gives no date, not an error."""
    assert parse_date_header("garbage") is None
    assert parse_date_header("") is None


def folder(script: str, msg: str, **kw: object) -> list[object]:
    return run('require ["date", "fileinto", "variables", "relational"];' + script, msg, **kw)


MSG = message(From="a@b.example", To="me@example.com", Subject="s", Date=RFC_DATE)


def test_date_converts_to_the_local_zone_unless_told() -> None:
    """Without :zone the header date is shown in the server's zone (from ctx.now)."""
    script = 'if date :matches "date" "{}" "*" {{ fileinto "${{0}}"; }}'
    assert folder(script.format("time"), MSG, now=NOW) == [FileInto("18:38:24")]
    orig = 'if date :originalzone :matches "date" "time" "*" { fileinto "${0}"; }'
    assert folder(orig, MSG, now=NOW) == [FileInto("09:38:24")]
    zone = 'if date :zone "-1100" :matches "date" "std11" "*" { fileinto "${0}"; }'
    assert folder(zone, MSG, now=NOW) == [FileInto("Tue, 01 Feb 2005 06:38:24 -1100")]


def test_missing_or_bad_date_header_never_matches() -> None:
    """A message without a (readable) Date header fails every date test."""
    script = 'if date :matches "date" "year" "*" { fileinto "has"; }'
    assert folder(script, message(Subject="s")) == [Keep()]
    assert folder(script, message(Subject="s", Date="yesterday")) == [Keep()]


def test_first_date_header_is_used() -> None:
    """With two Date headers the first one counts (RFC 5260 4)."""
    msg = message(Subject="s", Date=[RFC_DATE, "Wed, 2 Mar 2006 10:00:00 +0100"])
    script = 'if date :originalzone :matches "date" "date" "*" { fileinto "${0}"; }'
    assert folder(script, msg) == [FileInto("2005-02-01")]


def test_currentdate_uses_the_injected_clock() -> None:
    """currentdate reads ctx.now, in its zone or the one given."""
    script = 'if currentdate :matches "iso8601" "*" { fileinto "${0}"; }'
    assert folder(script, MSG, now=NOW) == [FileInto("2026-07-14T23:30:00+01:00")]
    script = 'if currentdate :zone "+0000" :matches "date" "*" { fileinto "${0}"; }'
    assert folder(script, MSG, now=NOW) == [FileInto("2026-07-14")]


def test_vacation_date_range() -> None:
    """A Roundcube-style vacation with a date range answers only inside the range."""
    script = """
    require ["date", "relational", "vacation"];
    if allof (currentdate :value "ge" "date" "2026-07-01",
              currentdate :value "le" "date" "2026-07-31") {
        vacation :days 1 "Back in August.";
    }
    """
    inside = run(script, MSG, mail_from="a@b.example", now=NOW)
    assert isinstance(inside[0], Vacation)
    later = NOW.replace(month=8, day=2)
    assert run(script, MSG, mail_from="a@b.example", now=later) == [Keep()]


@pytest.mark.parametrize(
    ("script", "fragment"),
    [
        ('if date "date" "year" "2005" {}', 'needs require "date"'),
        ('require "date"; if date "date" "century" "20" {}', "unknown date part 'century'"),
        ('require "date"; if date :zone "+2400" "date" "year" "1" {}', "':zone' must look like"),
        ('require "date"; if currentdate :originalzone "year" "1" {}', "unknown tag"),
        ('require "date"; if date "year" "1" {}', "takes 3 positional"),
    ],
)
def test_compile_errors(script: str, fragment: str) -> None:
    """Misused date tests are compile errors that say what is wrong."""
    assert fragment in compile_error(script).message
