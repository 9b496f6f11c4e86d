"""Tests for address-extension handling used by Sieve runs and RCPT lookups."""

from __future__ import annotations

import pytest

from mailsuite.delivery.sieverun import strip_detail


@pytest.mark.parametrize(
    ("address", "delims", "expected"),
    [
        ("alice@example.org", "+", ("alice@example.org", "")),
        ("alice+lists@example.org", "+", ("alice@example.org", "lists")),
        ("alice+a+b@example.org", "+", ("alice@example.org", "a+b")),
        ("alice-x+y@example.org", "+-", ("alice@example.org", "x+y")),
        ("alice+@example.org", "+", ("alice@example.org", "")),
        ("alice+x", "+", ("alice", "x")),
    ],
)
def test_strip_detail(address: str, delims: str, expected: tuple[str, str]) -> None:
    """user+detail splits at the first of any delimiter character (RFC 5233)."""
    assert strip_detail(address, delims) == expected
