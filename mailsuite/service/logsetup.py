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
"""

from __future__ import annotations

import os
from typing import Any

from twisted.application import service
from twisted.logger import (
    FilteringLogObserver,
    ILogFilterPredicate,
    ILogObserver,
    LegacyLogObserverWrapper,
    LogLevel,
    PredicateResult,
    textFileLogObserver,
)
from twisted.python.components import Componentized
from twisted.python.logfile import LogFile
from zope.interface import implementer

from mailsuite.config import Settings, resolve_path
from mailsuite.errors import ConfigError
from mailsuite.service.logpipe import level_passes, parse_level

__all__ = ["LevelPredicate", "LoggingRoot", "build_log_observer"]

STDERR_PATH = "-"  # [log] path meaning "twistd's own log target"


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
            target: Any = textFileLogObserver(LogFile.fromFullPath(path, rotateLength=None))
        except OSError as e:
            raise ConfigError(f"[log] path: cannot open {path}: {e.strerror or e}") from None
    elif twistd_options is not None:
        target = _twistd_observer(twistd_options)
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
