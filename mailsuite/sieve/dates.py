"""Date parts for the "date" extension (RFC 5260 4 and 5).

Turns a header's date or the current time into the strings ``date`` and
``currentdate`` compare: ``year`` "2005", ``date`` "2005-02-01", ``julian``
"53402", ``iso8601`` "2005-02-01T09:38:24-08:00", ``std11``
"Tue, 01 Feb 2005 09:38:24 -0800", ``zone`` "-0800", ``weekday`` "2" (0 is Sunday)
and so on; the formats match Pigeonhole's.
"""

from __future__ import annotations

import datetime as dt
import re
from email.utils import parsedate_to_datetime
from typing import Final

__all__ = ["DATE_PARTS", "date_part", "parse_date_header", "parse_zone"]

DATE_PARTS: Final = frozenset(
    {
        "year",
        "month",
        "day",
        "date",
        "julian",
        "hour",
        "minute",
        "second",
        "time",
        "iso8601",
        "std11",
        "zone",
        "weekday",
    }
)
_ZONE: Final = re.compile(r"([+-])([01][0-9]|2[0-3])([0-5][0-9])")
_MJD_EPOCH: Final = dt.date(1858, 11, 17)  # RFC 5260 4.2: day 0 of the Modified Julian Day
_DAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS: Final = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)


def parse_zone(text: str) -> dt.timezone | None:
    """A ``:zone`` argument ("+0130", "-0800") as a timezone; None when malformed."""
    m = _ZONE.fullmatch(text)
    if m is None:
        return None
    minutes = int(m.group(2)) * 60 + int(m.group(3))
    return dt.timezone(dt.timedelta(minutes=-minutes if m.group(1) == "-" else minutes))


def parse_date_header(value: str) -> dt.datetime | None:
    """An RFC 5322 date, zone-aware ("-0000", no known zone, counts as UTC); None if unreadable."""
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


def _zone(d: dt.datetime) -> str:
    offset = d.utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


def date_part(d: dt.datetime, part: str) -> str:
    """The text of one date part of ``d`` (in ``d``'s own zone)."""
    if part == "year":
        return f"{d.year:04d}"
    if part == "month":
        return f"{d.month:02d}"
    if part == "day":
        return f"{d.day:02d}"
    if part == "date":
        return f"{d.year:04d}-{d.month:02d}-{d.day:02d}"
    if part == "julian":
        return str((d.date() - _MJD_EPOCH).days)
    if part == "hour":
        return f"{d.hour:02d}"
    if part == "minute":
        return f"{d.minute:02d}"
    if part == "second":
        return f"{d.second:02d}"
    if part == "time":
        return f"{d.hour:02d}:{d.minute:02d}:{d.second:02d}"
    if part == "zone":
        return _zone(d)
    if part == "weekday":
        return str(d.isoweekday() % 7)  # RFC 5260 4.2: 0 is Sunday
    if part == "iso8601":
        zone = _zone(d)
        suffix = "Z" if zone == "+0000" else f"{zone[:3]}:{zone[3:]}"
        return f"{date_part(d, 'date')}T{date_part(d, 'time')}{suffix}"
    if part == "std11":
        return (
            f"{_DAYS[d.weekday()]}, {d.day:02d} {_MONTHS[d.month - 1]} {d.year:04d} "
            f"{date_part(d, 'time')} {_zone(d)}"
        )
    raise ValueError(f"unknown date part {part!r}")
