"""``mailsuite``: the admin command (like doveadm).

Each command family lives in its own module under ``mailsuite/cli/`` and
exposes ``register(subparsers)``, adding its subcommands with a ``func``
default that takes the parsed args and returns an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from mailsuite.errors import ConfigError, MailError

__all__ = ["main", "COMMAND_MODULES"]

# Modules that register subcommands, in the order --help lists them.
COMMAND_MODULES: list[str] = [
    "mailsuite.cli.pw",
    "mailsuite.cli.auth",
    "mailsuite.cli.sieve",
    "mailsuite.cli.deliver",
    "mailsuite.cli.mailbox",
    "mailsuite.cli.index",
    "mailsuite.cli.quota",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mailsuite", description="mailsuite admin command")
    parser.add_argument(
        "-c", "--config", default="etc/mailsuite.toml", help="config file (default: %(default)s)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 64  # EX_USAGE
    try:
        return int(func(args) or 0)
    except ConfigError as e:
        print(f"mailsuite: {e}", file=sys.stderr)
        return 78  # EX_CONFIG
    except MailError as e:
        print(f"mailsuite: {e.detail}", file=sys.stderr)
        return 75 if e.kind.value == "temp" else 1


if __name__ == "__main__":
    sys.exit(main())
