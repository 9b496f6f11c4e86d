"""The idle timeout before login (a short one configured so the test is quick)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.server import RunningServer, start_server

from .conftest import Raw


@pytest.fixture(scope="module")
def quick_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    overrides = {"imap": {"preauth_timeout_s": 1.0}}
    with start_server(tmp_path_factory.mktemp("imaptimeout"), overrides) as running:
        yield running


def test_preauth_idle_timeout_says_bye(quick_server: RunningServer) -> None:
    """A client that says nothing before logging in gets BYE and is disconnected."""
    raw = Raw(quick_server.imap_port)
    try:
        assert raw.line().startswith(b"* OK ")
        assert raw.line() == b"* BYE Disconnected for inactivity.\r\n"
        assert raw.line() == b""
    finally:
        raw.close()


def test_login_switches_to_long_timeout(quick_server: RunningServer) -> None:
    """After login the short pre-login timeout no longer applies."""
    import time

    raw = Raw(quick_server.imap_port)
    try:
        raw.login("alice", "alice-pw")
        time.sleep(1.5)  # longer than the pre-login timeout, far below 30 minutes
        assert raw.cmd(b"n", b"NOOP") == b"n OK NOOP completed.\r\n"
    finally:
        raw.close()


def test_short_idle_timeout_refused(tmp_path_factory: pytest.TempPathFactory) -> None:
    """An [imap] idle_timeout_s below RFC 3501's 30 minutes stops start-up naming the key."""
    with pytest.raises(RuntimeError, match=r"\[imap\] idle_timeout_s"):
        with start_server(tmp_path_factory.mktemp("imapbad"), {"imap": {"idle_timeout_s": 60.0}}):
            pass
