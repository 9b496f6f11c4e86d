"""``mailsuite index check|rebuild USER [MAILBOX]``: verify and rebuild the index/cache.

``check`` verifies every index record CRC, every cached blob CRC and every
message file's SHA-1; index damage is repaired on the spot, a damaged message
file is reported for the admin. It exits 1 when anything was wrong.
"""

from __future__ import annotations

import argparse
from typing import Any

from mailsuite.cli.mailbox import open_user_store_for
from mailsuite.store.maildir.integrity import check_mailbox, rebuild_mailbox

__all__ = ["register"]


def _mailboxes(args: argparse.Namespace) -> tuple[Any, list[str]]:
    store = open_user_store_for(args)
    if args.mailbox:
        return store, [args.mailbox]
    return store, [i.name for i in store.list_mailboxes() if "\\Noselect" not in i.attributes]


def _check(args: argparse.Namespace) -> int:
    store, names = _mailboxes(args)
    bad = 0
    for name in names:
        mbox = store.open_mailbox(name, readonly=True)
        try:
            report = check_mailbox(mbox, verify_files=not args.no_files)
        finally:
            mbox.close()
        for line in report.problems:
            print(f"{name}: {line}")
        state = "ok" if report.ok else f"{len(report.problems)} problem(s)"
        extra = f", {report.repaired} repaired" if report.repaired else ""
        if report.damaged_files:
            extra += f", {len(report.damaged_files)} damaged message file(s) need a restore"
        print(f"{name}: {report.messages} messages, {state}{extra}")
        bad += len(report.problems)
    return 1 if bad else 0


def _rebuild(args: argparse.Namespace) -> int:
    store, names = _mailboxes(args)
    for name in names:
        mbox = store.open_mailbox(name)
        try:
            n = rebuild_mailbox(mbox)
        finally:
            mbox.close()
        print(f"{name}: index rebuilt, {n} messages")
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("index", help="check or rebuild mailbox indexes")
    cmds = p.add_subparsers(dest="index_command", metavar="SUBCOMMAND")
    ck = cmds.add_parser("check", help="verify CRCs and message hashes, repair the index")
    ck.add_argument("user")
    ck.add_argument("mailbox", nargs="?")
    ck.add_argument("--no-files", action="store_true", help="skip re-hashing message files")
    ck.set_defaults(func=_check)
    rb = cmds.add_parser("rebuild", help="throw the index away and rebuild it from the files")
    rb.add_argument("user")
    rb.add_argument("mailbox", nargs="?")
    rb.set_defaults(func=_rebuild)
