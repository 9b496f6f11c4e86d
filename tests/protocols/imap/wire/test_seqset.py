"""Sequence sets: resolving *, membership, and the compact forms used in responses."""

from __future__ import annotations

import pytest

from mailsuite.protocols.imap.wire.reader import Reader
from mailsuite.protocols.imap.wire.seqset import SequenceSet, format_numbers, format_uid_pairs


def parse(raw: bytes) -> SequenceSet:
    return Reader(raw).seq_set()


@pytest.mark.parametrize(
    ("raw", "largest", "numbers"),
    [
        (b"1:*", 5, [1, 2, 3, 4, 5]),
        (b"*", 5, [5]),
        (b"*", 0, []),
        (b"3:1,2,5", 5, [1, 2, 3, 5]),
        (b"4:*", 2, [2]),  # RFC 3501 6.4.8: "4:*" with 2 messages means 2:4, i.e. 2
        (b"7", 5, []),
        (b"1:3,2:4", 10, [1, 2, 3, 4]),
    ],
)
def test_iter(raw: bytes, largest: int, numbers: list[int]) -> None:
    """A set yields each existing number once, ascending, with * read as the largest."""
    assert list(parse(raw).iter(largest)) == numbers


def test_resolve_merges_ranges() -> None:
    """Overlapping and adjacent ranges merge, so huge sets stay small."""
    assert parse(b"1:3,4:6,10,8:9,100:*").resolve(200) == [(1, 6), (8, 10), (100, 200)]


def test_contains() -> None:
    """Membership honours * and reversed ranges without expanding the set."""
    s = parse(b"2:4,*")
    assert s.contains(3, 10) and s.contains(10, 10) and not s.contains(5, 10)


def test_to_bytes_round_trip() -> None:
    """A set writes back in wire form."""
    assert parse(b"1,3:5,7:*").to_bytes() == b"1,3:5,7:*"
    assert SequenceSet(saved=True).to_bytes() == b"$"


@pytest.mark.parametrize(
    ("numbers", "wire"),
    [([], b""), ([5], b"5"), ([3, 1, 2, 7, 9, 10], b"1:3,7,9:10"), ([2, 2, 3], b"2:3")],
)
def test_format_numbers(numbers: list[int], wire: bytes) -> None:
    """Numbers format as sorted compact ranges."""
    assert format_numbers(numbers) == wire


@pytest.mark.parametrize(
    ("pairs", "src", "dst"),
    [
        # RFC 4315 section 3 example: COPY 2:4 -> COPYUID 38505 304,319:320 3956:3958
        ([(304, 3956), (319, 3957), (320, 3958)], b"304,319:320", b"3956:3958"),
        ([(1, 10)], b"1", b"10"),
        ([(1, 10), (2, 11), (3, 12)], b"1:3", b"10:12"),
        # Destination order that does not climb with the source is never folded into a range.
        ([(1, 12), (2, 11), (3, 10)], b"1:3", b"12,11,10"),
        ([(5, 1), (3, 2), (4, 3)], b"5,3:4", b"1:3"),
    ],
)
def test_format_uid_pairs(pairs: list[tuple[int, int]], src: bytes, dst: bytes) -> None:
    """COPYUID sets keep the pairing: expanding both sides gives the pairs back in order."""
    assert format_uid_pairs(pairs) == (src, dst)

    def expand(s: bytes) -> list[int]:
        out: list[int] = []
        for part in s.split(b","):
            lo, _, hi = part.partition(b":")
            a, b = int(lo), int(hi or lo)
            out.extend(range(min(a, b), max(a, b) + 1))
        return out

    assert list(zip(expand(src), expand(dst), strict=True)) == pairs
