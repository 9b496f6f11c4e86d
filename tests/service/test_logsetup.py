"""[log] level and [log] path in the twistd process, one-process and as the workers' master."""

from __future__ import annotations

import os
import poplib
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from twisted.application import service
from twisted.logger import ILogObserver, LogLevel

from mailsuite.config import Settings
from mailsuite.config.schema import LogSettings
from mailsuite.errors import ConfigError
from mailsuite.service.logpipe import READY_KEY
from mailsuite.service.logsetup import LoggingRoot, build_log_observer
from tests.support.server import RunningServer, launch, start_server, write_config

ROOT = Path(__file__).resolve().parents[2]
CONNECT = "pop3<"  # "pop3<sid>: connect from ...", a debug line
CONFIGURED = "mailsuite: configured from"  # an info line
SELF_SIGNED = "made a self-signed certificate"  # a warning


def _pop3_login(server: RunningServer) -> None:
    client = poplib.POP3("127.0.0.1", server.pop3_port, timeout=10)
    try:
        client.user("alice")
        client.pass_(server.users["alice"])
    finally:
        client.quit()


def _settings(tmp_path: Path, **log: Any) -> Settings:
    return Settings(log=LogSettings(**log), base_dir=str(tmp_path))


def test_level_warn_drops_debug_and_info_in_one_process(tmp_path: Path) -> None:
    """With level = "warn" a one-process server logs warnings and its ready line, nothing below."""
    with start_server(tmp_path, overrides={"log": {"level": "warn"}}) as server:
        _pop3_login(server)
        server.stop()
        text = server.log_text()
    assert SELF_SIGNED in text and "mailsuite: ready" in text
    assert CONNECT not in text and CONFIGURED not in text


def test_level_debug_keeps_debug_lines(tmp_path: Path) -> None:
    """With level = "debug" the same session's debug line is in the log."""
    with start_server(tmp_path, overrides={"log": {"level": "debug"}}) as server:
        _pop3_login(server)
        server.stop()
        text = server.log_text()
    assert CONNECT in text and CONFIGURED in text and SELF_SIGNED in text


def test_path_writes_there_instead_of_twistd_logfile(tmp_path: Path) -> None:
    """[log] path gets the server's log; twistd's --logfile gets none of it."""
    server = write_config(tmp_path, {"log": {"path": "var/log/mailsuite.log", "level": "info"}})
    twistd_log = Path(server.log_path)
    server.log_path = str(tmp_path / "var/log/mailsuite.log")
    launch(server)
    try:
        _pop3_login(server)
    finally:
        server.stop()
    text = server.log_text()
    assert CONFIGURED in text and "mailsuite: ready" in text and CONNECT not in text
    assert not twistd_log.exists() or CONFIGURED not in twistd_log.read_text()


def test_level_warn_in_workers_master(tmp_path: Path) -> None:
    """With workers = 2 the master's log also keeps only warnings and the ready lines."""
    overrides = {"server": {"workers": 2}, "log": {"level": "warn"}}
    with start_server(tmp_path, overrides=overrides) as server:
        _pop3_login(server)
        server.stop()
        text = server.log_text()
    assert "mailsuite: ready (2 worker processes)" in text and "serving (pid" in text
    assert "master: service(mailsuite): started child" not in text  # info
    assert CONNECT not in text


def test_unwritable_path_stops_startup_with_one_line(tmp_path: Path) -> None:
    """A [log] path that cannot be opened stops twistd with one line naming the key and path."""
    (tmp_path / "afile").write_text("")
    (tmp_path / "c.toml").write_text('[log]\npath = "afile/mail.log"\n')
    twistd = os.path.join(os.path.dirname(sys.executable), "twistd")
    proc = subprocess.run(
        [twistd, "-n", "--pidfile=", "mailsuite", "--config", str(tmp_path / "c.toml")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode != 0
    assert "[log] path: cannot open" in proc.stderr and "afile/mail.log" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bad_level_is_a_config_error(tmp_path: Path) -> None:
    """An unknown level name is refused, naming the key."""
    with pytest.raises(ConfigError, match=r"\[log\] level"):
        build_log_observer(_settings(tmp_path, level="verbose"))


def test_observer_filters_by_level_but_passes_ready(tmp_path: Path) -> None:
    """The file observer keeps events at the level or above, and readiness events always."""
    observer = build_log_observer(_settings(tmp_path, level="error", path="log/x.log"))
    assert observer is not None
    base = {"log_namespace": "t", "log_time": 0.0}
    observer({**base, "log_format": "kept-error", "log_level": LogLevel.error})
    observer({**base, "log_format": "dropped-warn", "log_level": LogLevel.warn})
    observer({**base, "log_format": "kept-ready", "log_level": LogLevel.info, READY_KEY: True})
    observer({**base, "log_format": "dropped-legacy"})  # no level: counts as info
    text = (tmp_path / "log/x.log").read_text()
    assert "kept-error" in text and "kept-ready" in text
    assert "dropped" not in text


def test_no_twistd_and_no_path_changes_nothing(tmp_path: Path) -> None:
    """Outside twistd with path "-" there is no observer to install, and none is installed."""
    assert build_log_observer(_settings(tmp_path)) is None
    app = service.Application("t")
    LoggingRoot(service.MultiService(), None).setServiceParent(app)
    assert app.getComponent(ILogObserver, None) is None


def test_twistd_logger_option_wins(tmp_path: Path) -> None:
    """twistd --logger (an observer the admin chose) is left in charge."""
    assert build_log_observer(_settings(tmp_path, path="x.log"), {"logger": "a.b"}) is None


def test_root_installs_observer_on_application(tmp_path: Path) -> None:
    """Attaching the root to twistd's Application sets its ILogObserver component."""
    observer = build_log_observer(_settings(tmp_path, path="x.log"))
    app = service.Application("t")
    root = LoggingRoot(service.MultiService(), observer)
    root.setServiceParent(app)
    assert app.getComponent(ILogObserver, None) is observer
    assert root in list(service.IServiceCollection(app))


_FAST_CASES: list[dict[str, Any]] = [
    {
        "log_format": "imap({u})<{sid}>: Logged in from {ip}",
        "u": "alice",
        "sid": "Ab1",
        "ip": "::1",
    },
    {"log_format": "{prefix}: Logged out {traffic}", "prefix": "imap(bob)<x>", "traffic": "in=1"},
    {
        "log_format": "width {n:>5} repr {s!r} attr {e.args[0]}",
        "n": 7,
        "s": "q",
        "e": KeyError("k"),
    },
    {"log_format": "two\nlines", "log_system": "pid 7"},
    {"log_format": "call {f()}", "f": lambda: "called"},
    {"log_format": "missing {nope}"},
    {"log_format": "bad {", "x": 1},
    {"log_format": ""},
    {"log_format": None},
    {"log_format": "bytes {b}", "b": b"\x00raw"},
    {"log_format": "system not text", "log_system": 42},
]


@pytest.mark.parametrize("extra", _FAST_CASES)
def test_fast_classic_text_matches_twisted(extra: dict[str, Any]) -> None:
    """The cheap formatter writes exactly the line Twisted's classic text formatter writes."""
    from twisted.logger import formatEventAsClassicLogText

    from mailsuite.service.logsetup import fast_classic_text

    event = {
        "log_time": 1763900000.75,
        "log_namespace": "mailsuite.protocols.imap.session.ImapSession",
        "log_level": LogLevel.info,
        **extra,
    }
    assert fast_classic_text(event) == formatEventAsClassicLogText(event)


def test_fast_classic_text_keeps_tracebacks() -> None:
    """An event with a failure gets the traceback under its line, as Twisted writes it."""
    from twisted.logger import formatEventAsClassicLogText
    from twisted.python.failure import Failure

    from mailsuite.service.logsetup import fast_classic_text

    try:
        raise ZeroDivisionError("division by zero")
    except ZeroDivisionError:
        failure = Failure()
    event = {"log_time": 1.5, "log_format": "boom {x}", "x": 1, "log_failure": failure}
    text = fast_classic_text(event)
    assert text == formatEventAsClassicLogText(event)
    assert text is not None and "ZeroDivisionError" in text


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/St_Johns", "Asia/Kolkata"])
def test_format_log_time_matches_twisted_across_zones(
    zone: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cached time stamp equals Twisted's formatTime in several zones, both sides of DST."""
    import time

    from twisted.logger import formatTime, timeFormatRFC3339

    from mailsuite.service import logsetup

    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        # Winter, summer, and the seconds around the 2026 EU spring change.
        for when in (1767225600.2, 1783000000.9, 1774746000.0, 1774746000.0 - 0.5, 0.0):
            logsetup._last_time = (-1, "")
            first = logsetup.format_log_time(when)
            assert first == formatTime(when, timeFormatRFC3339)
            assert logsetup.format_log_time(when) == first  # the cached answer
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
        logsetup._last_time = (-1, "")


def test_build_log_observer_path_uses_fast_formatter(tmp_path: Path) -> None:
    """[log] path writes lines through the cheap formatter, filtered by level."""
    from twisted.logger import FilteringLogObserver

    from mailsuite.service.logsetup import fast_classic_text

    observer = build_log_observer(_settings(tmp_path, path="log/m.log", level="info"))
    assert isinstance(observer, FilteringLogObserver)
    observer(
        {
            "log_format": "hello {who}",
            "who": "admin",
            "log_time": 0.0,
            "log_level": LogLevel.info,
            "log_namespace": "t",
        }
    )
    observer(
        {"log_format": "quiet", "log_time": 0.0, "log_level": LogLevel.debug, "log_namespace": "t"}
    )
    text = (tmp_path / "log/m.log").read_text()
    assert text.endswith(" [t#info] hello admin\n") and "quiet" not in text
    inner = observer._observer  # type: ignore[attr-defined]
    assert inner.formatEvent is fast_classic_text
