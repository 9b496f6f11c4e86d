"""logpipe.py: a worker's log events, one JSON line each, back into events in the master."""

from __future__ import annotations

from typing import Any

import pytest
from twisted.logger import LogLevel, eventAsText
from twisted.python.failure import Failure

from mailsuite.errors import ConfigError
from mailsuite.service.logpipe import (
    READY_KEY,
    decode_line,
    encode_event,
    parse_level,
    pipe_observer,
)


def event(**extra: Any) -> dict[str, Any]:
    base = {
        "log_format": "pop3({user})<{sid}>: Logged in from {ip}",
        "user": "alice",
        "sid": "ab12",
        "ip": "192.0.2.7",
        "log_namespace": "mailsuite.protocols.pop3.session",
        "log_level": LogLevel.info,
        "log_time": 1763900000.25,
    }
    return {**base, **extra}


def test_round_trip_names_the_worker() -> None:
    """Message, level, namespace and time survive; the system field gains the worker's pid."""
    line = encode_event(event())
    assert line is not None and line.endswith(b"\n") and line.count(b"\n") == 1
    got = decode_line(line, 4242)
    assert got["log_level"] is LogLevel.info
    assert got["log_time"] == 1763900000.25
    assert got["mailsuite_worker_pid"] == 4242
    assert eventAsText(got, includeTimestamp=False) == (
        "[mailsuite.protocols.pop3.session#info worker=4242]"
        " pop3(alice)<ab12>: Logged in from 192.0.2.7"
    )


def test_event_with_its_own_system_keeps_it() -> None:
    """An event that names its system (legacy log.msg in a connection) keeps that name."""
    got = decode_line(encode_event(event(log_system="Pop3Factory,3,127.0.0.1")) or b"", 7)
    assert got["log_system"] == "Pop3Factory,3,127.0.0.1 worker=7"


def test_traceback_and_exception_value_cross_the_pipe() -> None:
    """A failure's traceback, exception value included, reaches the master's log line."""
    try:
        raise TypeError("the real reason")
    except TypeError:
        failure = Failure()
    line = encode_event(event(log_format="store failed", log_failure=failure))
    text = eventAsText(decode_line(line or b"", 1), includeTimestamp=False)
    assert "store failed\n" in text
    assert "TypeError: the real reason" in text
    assert "test_traceback_and_exception_value_cross_the_pipe" in text


def test_unformattable_event_still_logged() -> None:
    """A format string naming a missing key becomes Twisted's "Unable to format" line."""
    got = decode_line(encode_event(event(log_format="{missing}")) or b"", 1)
    assert "Unable to format event" in got["mailsuite_text"]


def test_level_filter_and_ready_marker() -> None:
    """Events below the level are dropped, the ready marker never is, and a worker's own
    "mailsuite: ready" line is left to the master."""
    assert encode_event(event(log_level=LogLevel.debug), LogLevel.info) is None
    assert encode_event(event(log_level=LogLevel.warn), LogLevel.info) is not None
    ready = encode_event(event(log_level=LogLevel.debug, **{READY_KEY: True}), LogLevel.error)
    assert ready is not None and decode_line(ready, 1)[READY_KEY] is True
    assert encode_event(event(log_format="mailsuite: ready")) is None
    written: list[bytes] = []
    observe = pipe_observer(written.append, LogLevel.warn)
    observe(event())
    observe(event(log_level=LogLevel.error))
    assert len(written) == 1


def test_non_ascii_text() -> None:
    """Non-ASCII names (a UTF-8 mailbox, a user name) come through unchanged."""
    got = decode_line(encode_event(event(user="j\u00fcrgen")) or b"", 1)
    assert "j\u00fcrgen" in got["mailsuite_text"]


@pytest.mark.parametrize("line", [b"not json\n", b"[1]\n", b'{"t": 1}\n', b"\xff\xfe\n"])
def test_junk_line_is_a_value_error(line: bytes) -> None:
    """A line that is not a record (a stray print) raises ValueError for the caller to handle."""
    with pytest.raises(ValueError):
        decode_line(line, 1)


def test_parse_level() -> None:
    """[log] level accepts Twisted's level names in any case and names the key otherwise."""
    assert parse_level("INFO") is LogLevel.info
    assert parse_level("debug") is LogLevel.debug
    with pytest.raises(ConfigError) as info:
        parse_level("verbose")
    assert "[log] level: expected one of debug, info, warn, error, critical" in str(info.value)
