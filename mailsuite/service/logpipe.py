"""Log events from a worker process to the master: one small JSON object per line.

A worker formats each event itself (message and traceback, where the live
objects are) and sends only what the master's log line needs: time, namespace,
level, system and text. The master turns the line back into an event carrying
the worker's pid in its system field, and publishes it to its own observers
(twistd's log file). Twisted's own ``eventAsJSON`` would also work, but it
serialises every key of every event and loses exception values; this costs a
fraction of that per event, which matters at a few events per session.

Wire format (UTF-8, ``\\n``-terminated)::

    {"t": 1763900000.1, "n": "mailsuite.auth", "v": "info", "m": "auth: ...", "s": "...", "r": 1}

``s`` (the event's own ``log_system``) and ``r`` (the worker is ready) are optional.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from twisted.logger import LogLevel, formatEvent

from mailsuite.errors import ConfigError

__all__ = [
    "COMPOSE_READY",
    "READY_KEY",
    "decode_line",
    "encode_event",
    "level_passes",
    "parse_level",
    "pipe_observer",
]

READY_KEY = "mailsuite_worker_ready"  # set on the worker's "serving" log event
COMPOSE_READY = "mailsuite: ready"  # a worker's own ready line: the master says it once
_LEVELS = {level.name: level for level in LogLevel.iterconstants()}
_RANK = {level: rank for rank, level in enumerate(LogLevel.iterconstants())}  # debug < info
_FORMAT = "{mailsuite_text}"


def parse_level(name: str) -> LogLevel:
    """``[log] level`` as a LogLevel.

    Raises:
        ConfigError: not one of Twisted's level names.
    """
    level = _LEVELS.get(name.lower())
    if level is None:
        raise ConfigError(f"[log] level: expected one of {', '.join(_LEVELS)}, got {name!r}")
    return level


def _level_of(event: dict[str, Any]) -> Any:
    level = event.get("log_level")
    # Legacy (twisted.python.log) events may carry none: they count as info.
    return level if isinstance(level, type(LogLevel.info)) and level in _RANK else LogLevel.info


def level_passes(event: dict[str, Any], min_level: LogLevel) -> bool:
    """Whether ``[log] level = min_level`` keeps the event.

    Readiness events (``READY_KEY``) always pass: the master, tests and init
    scripts wait for them whatever the level.
    """
    return _RANK[_level_of(event)] >= _RANK[min_level] or bool(event.get(READY_KEY))


def encode_event(event: dict[str, Any], min_level: LogLevel = LogLevel.debug) -> bytes | None:
    """One event as a wire line; None for an event the master should not see."""
    level = _level_of(event)
    if not level_passes(event, min_level):
        return None
    if event.get("log_format") == COMPOSE_READY:
        return None
    text = formatEvent(event)
    failure = event.get("log_failure")
    if failure is not None:
        try:
            text = f"{text}\n{failure.getTraceback()}"
        except Exception as e:  # a failure that cannot format itself
            text = f"{text}\n(traceback unavailable: {e!r})"
    record: dict[str, Any] = {
        "t": event.get("log_time"),
        "n": event.get("log_namespace", "-"),
        "v": level.name,
        "m": text,
    }
    system = event.get("log_system")
    if system is not None:
        record["s"] = str(system)
    if event.get(READY_KEY):
        record["r"] = 1
    return json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n"


def decode_line(line: bytes, pid: int) -> dict[str, Any]:
    """A wire line back into an event for the master's observers, naming the worker.

    Raises:
        ValueError: the line is not a record from ``encode_event``.
    """
    record = json.loads(line.decode("utf-8", "replace"))
    if not isinstance(record, dict) or not isinstance(record.get("m"), str):
        raise ValueError("not a log record")
    level = _LEVELS.get(str(record.get("v")), LogLevel.info)
    namespace = str(record.get("n") or "-")
    system = record.get("s") or f"{namespace}#{level.name}"
    event: dict[str, Any] = {
        "log_format": _FORMAT,
        "mailsuite_text": record["m"],
        "log_level": level,
        "log_namespace": namespace,
        "log_system": f"{system} worker={pid}",
        "mailsuite_worker_pid": pid,
    }
    if isinstance(record.get("t"), int | float):
        event["log_time"] = float(record["t"])
    if record.get("r"):
        event[READY_KEY] = True
    return event


def pipe_observer(
    write: Callable[[bytes], Any], min_level: LogLevel = LogLevel.debug
) -> Callable[[dict[str, Any]], None]:
    """A log observer writing each event (at ``min_level`` or above) with ``write``."""

    def observe(event: dict[str, Any]) -> None:
        line = encode_event(event, min_level)
        if line is not None:
            write(line)

    return observe
