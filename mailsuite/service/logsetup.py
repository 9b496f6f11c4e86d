"""``[log] path`` and ``[log] level`` for the twistd process.

twistd picks its log observer in ``AppLogger.start``, after ``makeService``
and after the root service was attached to the Application: an
``ILogObserver`` component on the Application, when one is set, replaces the
observer twistd would build from ``--logfile``/``--syslog``. So the service
``makeService`` returns (``LoggingRoot``) sets that component when twistd
attaches it, to an observer that keeps only events at ``[log] level`` and
above and writes them to ``[log] path``, or, for ``path = "-"``, to the very
observer twistd would have used (same ``--logfile``, ``--syslog``, stdout
rules, SIGUSR1 rotation). An explicit ``twistd --logger`` still wins: twistd
never consults the component then.

This covers the one-process server and the master of ``workers = N`` (the
master re-publishes its workers' events, already filtered by level at the
worker, to the same observer).

The text observers get :func:`fast_classic_text` as their formatter: the same
line Twisted's ``formatEventAsClassicLogText`` writes, byte for byte, at a
fraction of its cost (it formatted the local time through ``datetime`` and a
time zone object on every event, and each message through
``string.Formatter``; a login and a logout cost a twelfth of the server's CPU).
"""

from __future__ import annotations

import os
import time
from typing import Any

from twisted.application import service
from twisted.logger import (
    FileLogObserver,
    FilteringLogObserver,
    ILogFilterPredicate,
    ILogObserver,
    LegacyLogObserverWrapper,
    LogLevel,
    PredicateResult,
    formatEventAsClassicLogText,
    textFileLogObserver,
)
from twisted.python.components import Componentized
from twisted.python.logfile import LogFile
from zope.interface import implementer

from mailsuite.config import Settings, resolve_path
from mailsuite.errors import ConfigError
from mailsuite.service.logpipe import level_passes, parse_level

__all__ = [
    "LevelPredicate",
    "LoggingRoot",
    "build_log_observer",
    "fast_classic_text",
    "format_log_time",
]

STDERR_PATH = "-"  # [log] path meaning "twistd's own log target"
# twisted.logger.timeFormatRFC3339 ("%Y-%m-%dT%H:%M:%S%z", what twistd writes), the
# zone written from tm_gmtoff as Twisted's FixedOffsetTimeZone writes it.
TIME_FORMAT_NO_ZONE = "%Y-%m-%dT%H:%M:%S"

# The last second formatted: (int(seconds), text). One tuple, swapped whole, so
# a reader in another thread never sees a second paired with another's text.
_last_time: tuple[int, str] = (-1, "")


def format_log_time(when: float | None) -> str:
    """``when`` as Twisted's ``formatTime(when, timeFormatRFC3339)`` writes it, cached per second.

    The format has no fraction of a second, so one string serves every
    event of that second; the UTC offset is the local one at that time, as
    Twisted computes it (so a daylight saving change shows at once).
    """
    global _last_time
    if when is None:
        return "-"
    second = int(when // 1)
    last = _last_time
    if last[0] == second:
        return last[1]
    local = time.localtime(second)
    text = time.strftime(TIME_FORMAT_NO_ZONE, local) + _offset(local.tm_gmtoff)
    _last_time = (second, text)
    return text


def _offset(seconds: int) -> str:
    sign = "-" if seconds < 0 else "+"
    minutes = abs(seconds) // 60
    return f"{sign}{minutes // 60:02d}{minutes % 60:02d}"


def fast_classic_text(event: dict[str, Any]) -> str | None:
    """The line ``formatEventAsClassicLogText`` makes of ``event``, the common case made cheap.

    Events with a traceback, flattened or non-text formats, or the
    ``{callable()}`` syntax, and any format that ``str.format_map`` cannot
    render, take Twisted's own path, so the output never differs.
    """
    fmt = event.get("log_format")
    if (
        fmt.__class__ is not str
        or "()" in fmt
        or "log_failure" in event
        or "log_flattened" in event
    ):
        return formatEventAsClassicLogText(event, format_log_time)
    try:
        text = fmt.format_map(event)
    except Exception:  # noqa: BLE001 - Twisted's path says why it could not format
        return formatEventAsClassicLogText(event, format_log_time)
    if not text:
        return None
    system = event.get("log_system")
    if system is None:
        level = event.get("log_level")
        system = f"{event.get('log_namespace', '-')}#{'-' if level is None else level.name}"
    elif system.__class__ is not str:
        return formatEventAsClassicLogText(event, format_log_time)
    line = f"{format_log_time(event.get('log_time'))} [{system}] {text}"
    return line.replace("\n", "\n\t") + "\n"


def _speed_up(observer: Any) -> Any:
    """Give a Twisted text file observer the cheap formatter (others are left as they are)."""
    if isinstance(observer, FileLogObserver):
        observer.formatEvent = fast_classic_text
    return observer


def _twistd_observer(twistd_options: Any) -> Any:
    """The observer twistd builds from its own options (``--logfile``, ``--syslog``, ``-n``)."""
    # twistd offers no public call for this; reusing its logger class keeps every
    # twistd rule (daemons never log to stdout, SIGUSR1 rotates) instead of copying them.
    from twisted.scripts.twistd import _SomeApplicationRunner

    return _SomeApplicationRunner.loggerFactory(twistd_options)._getLogObserver()


def build_log_observer(settings: Settings, twistd_options: Any = None) -> Any | None:
    """The observer for the process's log, or None to leave twistd's choice alone.

    Args:
        settings: the server settings (``[log]``).
        twistd_options: twistd's own parsed options (the plugin options' parent);
            None when not run by twistd, in which case ``path = "-"`` changes nothing.

    Raises:
        ConfigError: ``level`` is not a level name, or ``path`` cannot be opened.
    """
    min_level = parse_level(settings.log.level)
    if twistd_options is not None and twistd_options.get("logger"):
        return None  # twistd --logger: the admin chose the observer outright
    if settings.log.path != STDERR_PATH:
        path = resolve_path(settings, settings.log.path)
        try:
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
            # No size rotation: rotate with logrotate (copytruncate), as for Dovecot's log_path.
            target: Any = _speed_up(
                textFileLogObserver(LogFile.fromFullPath(path, rotateLength=None))
            )
        except OSError as e:
            raise ConfigError(f"[log] path: cannot open {path}: {e.strerror or e}") from None
    elif twistd_options is not None:
        target = _speed_up(_twistd_observer(twistd_options))
        if not ILogObserver.providedBy(target):  # e.g. --syslog's legacy observer
            target = LegacyLogObserverWrapper(target)
    else:
        return None

    return FilteringLogObserver(target, [LevelPredicate(min_level)])


@implementer(ILogFilterPredicate)
class LevelPredicate:
    """Drops events below ``[log] level`` (``logpipe.level_passes``: ready lines always pass)."""

    def __init__(self, min_level: LogLevel) -> None:
        self.min_level = min_level

    def __call__(self, event: dict[str, Any]) -> Any:
        return PredicateResult.maybe if level_passes(event, self.min_level) else PredicateResult.no


class LoggingRoot(service.MultiService):
    """The service twistd attaches to its Application; installs the ``[log]`` observer then.

    Args:
        root: the server's service tree.
        observer: from ``build_log_observer``; None installs nothing.
    """

    def __init__(self, root: service.IService, observer: Any | None) -> None:
        super().__init__()
        self._observer = observer
        root.setServiceParent(self)

    def setServiceParent(self, parent: Any) -> None:
        super().setServiceParent(parent)
        # twistd hands the Application itself (a Componentized); AppLogger.start
        # reads the component right after this, before the reactor runs.
        if (
            self._observer is not None
            and isinstance(parent, Componentized)
            and parent.getComponent(ILogObserver) is None
        ):
            parent.setComponent(ILogObserver, self._observer)
