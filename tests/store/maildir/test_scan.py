"""The listing decision: trusted, dirty and own-change directory stamps."""

from __future__ import annotations

from mailsuite.store.maildir.scan import (
    TRUST_AFTER_S,
    listed_stamp,
    needs_listing,
    own_change_stamp,
)

OLD = (1_000_000_000_000_000_000, 4096, 7)
NOW = OLD[0] / 1e9 + 3600
FRESH = (int(NOW * 1e9) - 1000, 4096, 7)
LATER = (FRESH[0] + 5_000_000, 4096, 7)


def raw(s: tuple[int, int, int]) -> str:
    return f"{s[0]}:{s[1]}:{s[2]}"


def test_trusted_stamp_unchanged_needs_no_listing() -> None:
    """An old stamp equal to the stored one means nothing changed."""
    assert not needs_listing(raw(OLD), OLD, NOW)
    assert needs_listing(raw(OLD), FRESH, NOW)
    assert needs_listing("dirty", OLD, NOW)
    assert needs_listing(None, OLD, NOW)


def test_own_change_from_trusted_stamp_is_recorded() -> None:
    """Our change from a known stamp is recorded; the result needs no listing inside the window."""
    value = own_change_stamp(raw(OLD), OLD, FRESH)
    assert value == f"own:{raw(FRESH)}:{FRESH[0]}"
    assert not needs_listing(value, FRESH, NOW)
    assert needs_listing(value, LATER, NOW)  # someone else changed it afterwards
    assert needs_listing(value, FRESH, NOW + TRUST_AFTER_S)  # confirmed once the window closes


def test_own_change_after_unknown_change_is_not_recorded() -> None:
    """A directory that changed behind our back before our change keeps needing a listing."""
    assert own_change_stamp(raw(OLD), FRESH, LATER) is None
    assert own_change_stamp("dirty", OLD, FRESH) is None
    assert own_change_stamp(None, OLD, FRESH) is None


def test_chained_own_changes_keep_the_oldest_unconfirmed_time() -> None:
    """A run of own changes cannot postpone the confirming listing forever."""
    first = own_change_stamp(raw(OLD), OLD, FRESH)
    second = own_change_stamp(first, FRESH, LATER)
    assert second == f"own:{raw(LATER)}:{FRESH[0]}"
    assert own_change_stamp(first, LATER, LATER) is None


def test_confirming_listing_on_a_busy_mailbox_keeps_an_own_record() -> None:
    """A listing that finds our own fresh stamp unchanged records it as ours, not as dirty."""
    own = own_change_stamp(raw(OLD), OLD, FRESH)
    assert listed_stamp(own, FRESH, NOW) == f"own:{raw(FRESH)}:{FRESH[0]}"
    assert listed_stamp(own, LATER, NOW) == "dirty"  # someone else changed it too
    assert listed_stamp(raw(OLD), FRESH, NOW) == "dirty"
    assert listed_stamp(own, OLD, NOW) == raw(OLD)
