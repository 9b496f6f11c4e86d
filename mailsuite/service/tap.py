"""``twistd mailsuite --config PATH``: options and makeService for the plugin."""

from __future__ import annotations

import sys

from twisted.application import service
from twisted.python import usage

from mailsuite.config import load_settings
from mailsuite.errors import ConfigError

__all__ = ["Options", "makeService"]


class Options(usage.Options):
    synopsis = "--config PATH"
    optParameters = [
        ["config", "c", "etc/mailsuite.toml", "Path to the mailsuite TOML config file."],
    ]

    def postOptions(self) -> None:
        try:
            self["settings"] = load_settings(self["config"])
        except ConfigError as e:
            raise usage.UsageError(str(e)) from None


def makeService(options: Options) -> service.IService:
    """The whole server, logging as ``[log]`` says (``logsetup``)."""
    from mailsuite.service.compose import build_root_service
    from mailsuite.service.logsetup import LoggingRoot, build_log_observer

    settings = options["settings"]
    try:
        # The observer first: a bad [log] path stops start-up before any socket is bound.
        observer = build_log_observer(settings, options.parent)
        return LoggingRoot(build_root_service(settings), observer)
    except ConfigError as e:
        # twistd prints a traceback for other exceptions; a config mistake is one line.
        sys.stderr.write(f"mailsuite: {e}\n")
        raise SystemExit(1) from None
