"""``mailsuite quota get|recalc USER``: quota usage from ``maildirsize``, or recalculated."""

from __future__ import annotations

import argparse
from typing import Any

from mailsuite.cli.mailbox import open_user_store_for
from mailsuite.store.api import QuotaUsage

__all__ = ["register"]


def _print(user: str, q: QuotaUsage) -> None:
    def limit(n: int) -> str:
        return str(n) if n else "-"

    def pct(used: int, lim: int) -> str:
        return str(used * 100 // lim) if lim else "0"

    print("User\tType\tValue\tLimit\t%")
    print(f"{user}\tSTORAGE\t{q.storage_bytes}\t{limit(q.storage_limit_bytes)}\t"
          f"{pct(q.storage_bytes, q.storage_limit_bytes)}")  # fmt: skip
    print(f"{user}\tMESSAGE\t{q.messages}\t{limit(q.message_limit)}\t"
          f"{pct(q.messages, q.message_limit)}")  # fmt: skip


def _get(args: argparse.Namespace) -> int:
    _print(args.user, open_user_store_for(args).quota())
    return 0


def _recalc(args: argparse.Namespace) -> int:
    _print(args.user, open_user_store_for(args).recalculate_quota())
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("quota", help="show or recalculate a user's quota usage")
    cmds = p.add_subparsers(dest="quota_command", metavar="SUBCOMMAND")
    g = cmds.add_parser("get", help="current usage and limits")
    g.add_argument("user")
    g.set_defaults(func=_get)
    r = cmds.add_parser("recalc", help="recount usage from the message files")
    r.add_argument("user")
    r.set_defaults(func=_recalc)
