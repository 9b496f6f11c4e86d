"""IMAP sequence sets (RFC 3501 section 9 ``sequence-set``) and their compact wire form."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

__all__ = ["SequenceSet", "format_numbers", "format_uid_pairs"]


@dataclass(frozen=True, slots=True)
class SequenceSet:
    """A parsed sequence set, ``*`` kept symbolic until the mailbox size is known.

    ``ranges`` holds ``(low, high)`` pairs where ``None`` stands for ``*``; a
    range written backwards ("5:2") is stored forwards (RFC 3501 section 9:
    "2:4" and "4:2" are equivalent). ``saved`` marks the RFC 5182 ``$``
    (the result of the last SEARCH ... RETURN (SAVE)), which has no ranges.
    """

    ranges: tuple[tuple[int | None, int | None], ...] = ()
    saved: bool = False

    @classmethod
    def of(cls, *numbers: int) -> SequenceSet:
        """A set holding exactly ``numbers`` (for tests and builders)."""
        return cls(tuple((n, n) for n in numbers))

    def resolve(self, largest: int) -> list[tuple[int, int]]:
        """Sorted, merged, non-overlapping ranges, with ``*`` read as ``largest``.

        RFC 3501 section 6.4.8: ``*`` is the largest number in use; in an
        empty mailbox (``largest`` 0) the set therefore resolves to nothing
        for ``*`` and to the numbers written otherwise (the caller filters
        those against the mailbox).
        """
        out: list[tuple[int, int]] = []
        for low, high in self.ranges:
            lo = largest if low is None else low
            hi = largest if high is None else high
            if lo > hi:
                lo, hi = hi, lo
            if lo < 1:
                if hi < 1:
                    continue
                lo = 1
            out.append((lo, hi))
        out.sort()
        merged: list[tuple[int, int]] = []
        for lo, hi in out:
            if merged and lo <= merged[-1][1] + 1:
                if hi > merged[-1][1]:
                    merged[-1] = (merged[-1][0], hi)
            else:
                merged.append((lo, hi))
        return merged

    def iter(self, largest: int) -> Iterator[int]:
        """Every number of the set up to ``largest``, ascending, each once."""
        for lo, hi in self.resolve(largest):
            if lo > largest:
                break
            yield from range(lo, min(hi, largest) + 1)

    def contains(self, number: int, largest: int) -> bool:
        """Whether ``number`` is in the set when ``*`` means ``largest``."""
        for low, high in self.ranges:
            lo = largest if low is None else low
            hi = largest if high is None else high
            if lo > hi:
                lo, hi = hi, lo
            if lo <= number <= hi:
                return True
        return False

    def to_bytes(self) -> bytes:
        """The set in wire form, ``*`` included (for logs and re-encoding)."""
        if self.saved:
            return b"$"
        parts: list[bytes] = []
        for low, high in self.ranges:
            lo = b"*" if low is None else str(low).encode()
            if low == high:
                parts.append(lo)
            else:
                hi = b"*" if high is None else str(high).encode()
                parts.append(lo + b":" + hi)
        return b",".join(parts)


def format_numbers(numbers: Iterable[int]) -> bytes:
    """Sorted numbers as a compact sequence set ("1:3,7,9:10"); empty input gives b"".

    Only for sets whose order does not matter (ESEARCH ALL, VANISHED, MODIFIED).
    """
    return _runs(sorted(set(numbers)))


def _runs(numbers: Sequence[int]) -> bytes:
    """Numbers in their given order, ascending runs of +1 written as ranges."""
    parts: list[bytes] = []
    i = 0
    while i < len(numbers):
        j = i
        while j + 1 < len(numbers) and numbers[j + 1] == numbers[j] + 1:
            j += 1
        parts.append(b"%d" % numbers[i] if i == j else b"%d:%d" % (numbers[i], numbers[j]))
        i = j + 1
    return b",".join(parts)


def format_uid_pairs(pairs: Sequence[tuple[int, int]]) -> tuple[bytes, bytes]:
    """The source and destination uid-sets of RFC 4315 COPYUID, in matching order.

    RFC 4315 section 3 pairs the n-th source UID with the n-th destination
    UID. Each side keeps the order of ``pairs`` and only a run that climbs
    by exactly one becomes a range (a range always expands ascending), so
    expanding both sets yields the pairs again, in order, as in the RFC's
    own example ``COPYUID 38505 304,319:320 3956:3958``. Outlook 2010
    rejected sets whose order did not match.

    Args:
        pairs: (source UID, destination UID) in the order the copy assigned them.

    Returns:
        The source set and the destination set.
    """
    return _runs([p[0] for p in pairs]), _runs([p[1] for p in pairs])
