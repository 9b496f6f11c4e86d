"""The exposed-state MD5 agrees with hashlib's MD5."""

from __future__ import annotations

import hashlib

import pytest

from mailsuite.auth.md5state import MD5_INITIAL_STATE, md5_compress, md5_continue


@pytest.mark.parametrize("size", [0, 1, 55, 56, 63, 64, 65, 119, 120, 200])
def test_continue_from_initial_state_is_md5(size: int) -> None:
    """Hashing from the initial state gives the same digest as hashlib for every padding case."""
    data = bytes(range(256))[:size] * 1
    assert md5_continue(MD5_INITIAL_STATE, 0, data) == hashlib.md5(data).digest()


def test_continue_after_one_block_is_md5() -> None:
    """Resuming after a compressed first block gives MD5 of the whole message."""
    first = b"k" * 64
    state = md5_compress(MD5_INITIAL_STATE, first)
    assert md5_continue(state, 64, b"rest of it") == hashlib.md5(first + b"rest of it").digest()


def test_compress_refuses_short_block() -> None:
    """A block that is not 64 bytes is a programming error, reported as ValueError."""
    with pytest.raises(ValueError):
        md5_compress(MD5_INITIAL_STATE, b"short")
