"""Admin flush requests through the state directory."""

from __future__ import annotations

from pathlib import Path

from mailsuite.auth.control import FlushRequests, request_flush


def test_requests_applied_once_and_removed(tmp_path: Path) -> None:
    """Each queued request is applied once, then its file is gone."""
    flushed: list[str | None] = []
    now = [0.0]
    req = FlushRequests(str(tmp_path), lambda u: flushed.append(u) or 1, lambda: now[0])
    assert req.poll() == 0  # nothing queued (directory missing) is fine
    request_flush(str(tmp_path), "alice")
    request_flush(str(tmp_path), None)
    now[0] = 5.0
    assert req.poll() == 2
    assert sorted(flushed, key=str) == sorted(["alice", None], key=str)
    assert not list((tmp_path / "auth-cache-flush").iterdir())


def test_poll_rate_limited(tmp_path: Path) -> None:
    """The directory is looked at no more than once a second."""
    now = [10.0]
    flushed: list[str | None] = []
    req = FlushRequests(str(tmp_path), lambda u: flushed.append(u) or 0, lambda: now[0])
    req.poll()
    request_flush(str(tmp_path), "bob")
    now[0] = 10.5
    assert req.poll() == 0
    now[0] = 11.0
    assert req.poll() == 1
