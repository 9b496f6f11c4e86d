"""``mailsuite sieve``: check Sieve scripts, and try them on a message.

``mailsuite sieve check FILE...`` compiles each file and prints every error
the way a compiler does (``file:line: message``) on standard error; it exits
0 when all compile, 1 when any has an error, 66 when a file cannot be read.

``mailsuite sieve test SCRIPT MESSAGE [-f SENDER] [-t RECIPIENT]`` runs a
script over a message file and prints the actions it would take, one a line
(like Pigeonhole's ``sieve-test``). Nothing is delivered or sent.

``mailsuite sieve capabilities`` lists what ``require`` accepts.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import sys
from typing import Any

from mailsuite.sieve import CAPABILITIES, MessageContext, SieveError, compile_script, evaluate
from mailsuite.sieve.actions import Action, Discard, FileInto, Keep, Redirect, Reject, Vacation
from mailsuite.sieve.ast import Script
from mailsuite.sieve.cache import decode_script

__all__ = ["register"]

EX_OK = 0
EX_SCRIPT = 1  # a script has errors
EX_NOINPUT = 66  # sysexits.h: a file cannot be read


def register(sub: Any) -> None:
    """Add ``sieve check``, ``sieve test`` and ``sieve capabilities`` to ``mailsuite``."""
    p = sub.add_parser("sieve", help="check and try Sieve scripts")
    ssub = p.add_subparsers(dest="sieve_command", metavar="SUBCOMMAND", required=True)
    check = ssub.add_parser("check", help="compile scripts and report errors as file:line: msg")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.set_defaults(func=_check)
    test = ssub.add_parser("test", help="print the actions a script takes on a message")
    test.add_argument("script", metavar="SCRIPT")
    test.add_argument("message", metavar="MESSAGE")
    test.add_argument("-f", "--sender", default="sender@example.org", help="envelope sender")
    test.add_argument("-t", "--recipient", default="user@example.org", help="envelope recipient")
    test.add_argument("-d", "--delimiter", default="+", help="recipient delimiter")
    test.set_defaults(func=_test)
    caps = ssub.add_parser("capabilities", help="list the capabilities scripts may require")
    caps.set_defaults(func=_capabilities)


def _capabilities(args: argparse.Namespace) -> int:
    print(" ".join(sorted(CAPABILITIES)))
    return EX_OK


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        print(f"{path}: cannot read: {e.strerror}", file=sys.stderr)
        return None


def _compile(path: str) -> Script | int:
    data = _read(path)
    if data is None:
        return EX_NOINPUT
    try:
        return compile_script(decode_script(data, path), path)
    except SieveError as e:
        for err in e.errors:
            print(str(err), file=sys.stderr)
        return EX_SCRIPT


def _check(args: argparse.Namespace) -> int:
    rc = EX_OK
    for path in args.files:
        result = _compile(path)
        if isinstance(result, int):
            rc = max(rc, result)
    return rc


def _describe(action: Action) -> str:
    def flags(f: frozenset[str]) -> str:
        return f" flags={' '.join(sorted(f))}" if f else ""

    match action:
        case Keep(flags=f):
            return f"keep{flags(f)}"
        case FileInto(mailbox=mb, flags=f, create=create):
            return f"fileinto {mb!r}{' create' if create else ''}{flags(f)}"
        case Redirect(address=addr):
            return f"redirect {addr}"
        case Reject(reason=reason, extended=ext):
            return f"{'ereject' if ext else 'reject'} {reason!r}"
        case Vacation() as v:
            return f"vacation to={v.recipient} subject={v.subject!r} days_s={v.days_s}"
        case Discard():
            return "discard"
    return repr(action)


def _test(args: argparse.Namespace) -> int:
    script = _compile(args.script)
    if isinstance(script, int):
        return script
    data = _read(args.message)
    if data is None:
        return EX_NOINPUT
    msg = email.message_from_bytes(data, policy=email.policy.default)

    def header_values(name: str) -> list[str]:
        return [str(v) for v in (msg.get_all(name) or [])]

    ctx = MessageContext(
        header_values=header_values,
        size=len(data.replace(b"\r\n", b"\n")) + data.replace(b"\r\n", b"\n").count(b"\n"),
        envelope_from=args.sender,
        envelope_to=args.recipient,
        recipient_delimiter=args.delimiter,
    )
    try:
        actions = evaluate(script, ctx)
    except SieveError as e:
        print(f"{e} (the message would be kept)", file=sys.stderr)
        return EX_SCRIPT
    for action in actions:
        print(_describe(action))
    return EX_OK
