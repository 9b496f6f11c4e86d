"""Admin flush requests through the journal in the state directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mailsuite.auth import control
from mailsuite.auth.control import FLUSH_JOURNAL, FlushRequests, request_flush


def recorder(tmp_path: Path, now: list[float]) -> tuple[FlushRequests, list[str | None]]:
    flushed: list[str | None] = []

    def flush(user: str | None) -> int:
        flushed.append(user)
        return 1

    return FlushRequests(str(tmp_path), flush, lambda: now[0]), flushed


def test_requests_applied_once_and_journal_kept(tmp_path: Path) -> None:
    """Each request is applied once per process, and readers leave the journal in place."""
    now = [0.0]
    req, flushed = recorder(tmp_path, now)
    assert req.poll() == 0  # nothing queued (no journal yet) is fine
    request_flush(str(tmp_path), "alice")
    request_flush(str(tmp_path), "bob")
    now[0] = 5.0
    assert req.poll() == 2
    assert flushed == ["alice", "bob"]
    now[0] = 10.0
    assert req.poll() == 0
    assert (tmp_path / FLUSH_JOURNAL).read_text() == "alice\nbob\n"


def test_every_process_sees_every_request(tmp_path: Path) -> None:
    """Two readers (two worker processes) both apply the same request."""
    now = [0.0]
    first, flushed_first = recorder(tmp_path, now)
    second, flushed_second = recorder(tmp_path, now)
    request_flush(str(tmp_path), None)
    now[0] = 2.0
    assert first.poll() == 1 and second.poll() == 1
    assert flushed_first == [None] and flushed_second == [None]


def test_a_new_process_skips_older_requests(tmp_path: Path) -> None:
    """A reader started after a request (an empty cache) does not apply it."""
    request_flush(str(tmp_path), "alice")
    now = [5.0]
    req, flushed = recorder(tmp_path, now)
    assert req.poll() == 0 and flushed == []
    request_flush(str(tmp_path), "bob")
    now[0] = 7.0
    assert req.poll() == 1 and flushed == ["bob"]


def test_flush_all_covers_the_batch(tmp_path: Path) -> None:
    """A batch holding a flush of everyone is applied as one flush of everything."""
    now = [0.0]
    req, flushed = recorder(tmp_path, now)
    request_flush(str(tmp_path), "alice")
    request_flush(str(tmp_path), None)
    now[0] = 2.0
    assert req.poll() == 2
    assert flushed == [None]


def test_partial_line_waits(tmp_path: Path) -> None:
    """A line still being written is applied only once it is complete."""
    now = [0.0]
    req, flushed = recorder(tmp_path, now)
    journal = tmp_path / FLUSH_JOURNAL
    journal.write_bytes(b"ali")
    now[0] = 2.0
    assert req.poll() == 0
    with open(journal, "ab") as f:
        f.write(b"ce\n")
    now[0] = 4.0
    assert req.poll() == 1 and flushed == ["alice"]


def test_compaction_replaces_journal_with_flush_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A journal past its size bound is replaced by one flush-all that readers apply."""
    monkeypatch.setattr(control, "COMPACT_BYTES", 16)
    now = [0.0]
    req, flushed = recorder(tmp_path, now)
    request_flush(str(tmp_path), "a-rather-long-user-name")
    now[0] = 2.0
    assert req.poll() == 1
    inode = os.stat(tmp_path / FLUSH_JOURNAL).st_ino
    request_flush(str(tmp_path), "bob")
    assert (tmp_path / FLUSH_JOURNAL).read_text() == "*\n"
    assert os.stat(tmp_path / FLUSH_JOURNAL).st_ino != inode
    now[0] = 4.0
    assert req.poll() == 1
    assert flushed == ["a-rather-long-user-name", None]


def test_user_with_line_break_refused(tmp_path: Path) -> None:
    """A user name holding a line break is refused rather than split into two requests."""
    with pytest.raises(ValueError, match="line break"):
        request_flush(str(tmp_path), "alice\n*")


def test_poll_rate_limited(tmp_path: Path) -> None:
    """The journal is looked at no more than once a second."""
    now = [10.0]
    req, flushed = recorder(tmp_path, now)
    req.poll()
    request_flush(str(tmp_path), "bob")
    now[0] = 10.5
    assert req.poll() == 0
    now[0] = 11.0
    assert req.poll() == 1
