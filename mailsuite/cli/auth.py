"""``mailsuite auth test``, ``mailsuite auth cache flush`` and ``mailsuite user lookup``.

These build the same auth service the server runs (same config, same
passdb/userdb chains) in this process, so ``auth test`` answers exactly what
a login would, minus the failure delay. ``auth cache flush`` appends a request
to a journal that every running server process applies at its next auth call
(the cache lives in each process's memory; ``mailsuite.auth.control``).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any, cast

from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.task import Clock
from twisted.logger import formatEvent, globalLogPublisher
from twisted.python.failure import Failure

from mailsuite.auth.control import request_flush
from mailsuite.auth.factory import build_auth_service
from mailsuite.auth.interfaces import AuthSuccess, LoginContext
from mailsuite.config import load_settings, resolve_path

__all__ = ["register"]

EX_NOUSER = 67  # sysexits.h, as doveadm user uses it
EX_NOPERM = 77
ADMIN = LoginContext(service="admin", remote_ip="", secured=True, session_id="cli")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    auth = sub.add_parser("auth", help="test logins and manage the auth cache")
    asub = auth.add_subparsers(dest="auth_command", metavar="SUBCOMMAND")
    t = asub.add_parser("test", help="check a user's password through the passdb chain")
    t.add_argument("user")
    t.add_argument("password", nargs="?", help="asked for when not given")
    t.set_defaults(func=run_test)
    cache = asub.add_parser("cache", help="the running server's auth cache")
    csub = cache.add_subparsers(dest="cache_command", metavar="SUBCOMMAND")
    f = csub.add_parser("flush", help="drop cached passdb answers (all, or one user's)")
    f.add_argument("user", nargs="?")
    f.set_defaults(func=run_flush)
    user = sub.add_parser("user", help="look users up in the userdb chain")
    usub = user.add_subparsers(dest="user_command", metavar="SUBCOMMAND")
    lk = usub.add_parser("lookup", help="show where a user's mail lives")
    lk.add_argument("user")
    lk.set_defaults(func=run_lookup)


def _service(args: argparse.Namespace) -> tuple[Any, Clock]:
    settings = load_settings(args.config)
    clock = Clock()
    svc = build_auth_service(
        settings, reactor=clock, run_blocking=maybeDeferred, store_factory=lambda rec: None
    )
    return svc, clock


def _wait(d: Deferred[Any], clock: Clock) -> Any:
    box: list[Any] = []
    d.addBoth(box.append)
    for _ in range(1000):  # skip the failure penalty: the admin is not an attacker
        if box:
            break
        clock.advance(1.0)
    if isinstance(box[0], Failure):
        box[0].raiseException()
    return box[0]


def run_test(args: argparse.Namespace) -> int:
    password = args.password
    if password is None:
        password = getpass.getpass("Password: ") if sys.stdin.isatty() else sys.stdin.readline()
        password = password.rstrip("\r\n")
    svc, clock = _service(args)
    reasons: list[str] = []

    def observe(event: dict[str, Any]) -> None:
        # Show the admin the server's own reason line (never contains the password).
        if event.get("log_namespace") == "mailsuite.auth" and "reason" in event:
            reasons.append(formatEvent(event))

    globalLogPublisher.addObserver(cast(Any, observe))
    try:
        result = _wait(svc.login(args.user, password, ADMIN), clock)
    finally:
        globalLogPublisher.removeObserver(cast(Any, observe))
    if isinstance(result, AuthSuccess):
        avatar: Any = result.user
        print(f"passdb: {args.user} auth succeeded")
        for key, value in sorted(avatar.passdb_fields.items()):
            print(f"  {key}={value}")
        if avatar.record.mail:
            print(f"userdb: {avatar.username} mail={avatar.record.mail}")
        result.logout()  # type: ignore[operator]
        return 0
    print(f"passdb: {args.user} auth failed ({result.code}): {result.message}", file=sys.stderr)
    for line in reasons:
        print(f"  {line}", file=sys.stderr)
    return EX_NOPERM


def run_lookup(args: argparse.Namespace) -> int:
    svc, clock = _service(args)
    record = _wait(svc.lookup(args.user, ADMIN), clock)
    if record is None:
        print(f"userdb lookup: user {args.user} doesn't exist", file=sys.stderr)
        return EX_NOUSER
    print(f"{'field':<10} value")
    print(f"{'user':<10} {record.username}")
    for key in ("home", "mail", "uid", "gid"):
        value = getattr(record, key)
        if value not in ("", None):
            print(f"{key:<10} {value}")
    if record.quota_storage_bytes or record.quota_messages:
        print(
            f"{'quota':<10} storage={record.quota_storage_bytes} messages={record.quota_messages}"
        )
    for key, value in sorted(record.fields.items()):
        if key not in ("home", "mail", "uid", "gid"):
            print(f"{key:<10} {value}")
    return 0


def run_flush(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    state_dir = resolve_path(settings, settings.server.state_dir)
    try:
        path = request_flush(state_dir, args.user)
    except (OSError, ValueError) as e:
        print(f"mailsuite: auth cache flush: {e}", file=sys.stderr)
        return 1
    who = f"user {args.user}" if args.user else "all users"
    print(
        f"auth cache flush for {who} queued in {path}; every server process applies it"
        " at its next auth call"
    )
    return 0
