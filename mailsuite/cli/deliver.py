"""``mailsuite deliver -d USER [-a ADDRESS] [-f SENDER]``: the local delivery agent (LDA).

For MTAs that pipe each message to a program (Postfix ``mailbox_command`` or
a ``pipe`` transport, ``sendmail -f``-style invocations): reads one message
from standard input, runs the user's Sieve scripts and stores it exactly as
LMTP would, then exits with a sendmail code the MTA understands (sysexits.h):

* 0 delivered;
* 67 EX_NOUSER: no such user (the MTA bounces);
* 69 EX_UNAVAILABLE: refused for good (Sieve reject, quota full when permanent);
* 75 EX_TEMPFAIL: try again later (disk, lock, userdb trouble, quota when temporary).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from typing import Any, BinaryIO

from mailsuite.config import Settings, load_settings, resolve_path

__all__ = ["register", "run_deliver", "EX_OK", "EX_NOUSER", "EX_UNAVAILABLE", "EX_TEMPFAIL"]

EX_OK = 0
EX_USAGE = 64
EX_NOUSER = 67
EX_UNAVAILABLE = 69
EX_TEMPFAIL = 75
EX_CONFIG = 78


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "deliver",
        help="deliver a message from standard input to a user (LDA, sendmail exit codes)",
        description="Deliver one message read from standard input to USER's mailbox, "
        "running the user's Sieve scripts. Exit codes: 0 delivered, 67 unknown user, "
        "69 refused, 75 temporary failure.",
    )
    p.add_argument("-d", dest="user", required=True, metavar="USER", help="destination user")
    p.add_argument(
        "-a",
        dest="address",
        default="",
        metavar="ADDRESS",
        help="the envelope recipient address (default: USER); a +detail here is seen by Sieve",
    )
    p.add_argument(
        "-f",
        dest="sender",
        default=None,
        metavar="SENDER",
        help='the envelope sender (default: from an mbox "From " line, else <>)',
    )
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(args.config)
    except Exception as e:  # ConfigError: the MTA should retry once the admin fixes it
        print(f"mailsuite deliver: {e}", file=sys.stderr)
        return EX_TEMPFAIL
    return run_deliver(settings, args.user, args.address, args.sender, sys.stdin.buffer)


def _read_spool(stream: BinaryIO, spool_dir: str | None) -> tuple[Any, str | None]:
    """Spool stdin; a leading mbox "From sender date" line is dropped and its sender kept."""
    from mailsuite.delivery.spool import Spool

    spool = Spool(spool_dir)
    first = stream.readline(64 * 1024)
    mbox_sender: str | None = None
    if first.startswith(b"From ") and not first.startswith(b"From: "):
        words = first.split()
        mbox_sender = words[1].decode("utf-8", "replace") if len(words) > 1 else ""
        if mbox_sender == "MAILER-DAEMON":
            mbox_sender = ""
    else:
        spool.write(first)
    while chunk := stream.read(256 * 1024):
        spool.write(chunk)
    spool.finish()
    return spool, mbox_sender


def run_deliver(
    settings: Settings, user: str, address: str, sender: str | None, stream: BinaryIO
) -> int:
    """Deliver ``stream`` to ``user``; returns the sysexits code (also used by tests)."""
    from twisted.internet import task
    from twisted.logger import (
        FilteringLogObserver,
        LogLevel,
        LogLevelFilterPredicate,
        globalLogBeginner,
        textFileLogObserver,
    )

    # Warnings and errors (a Sieve script that does not compile, a fileinto
    # fallback) go to stderr, which MTAs put into their own log.
    # (Any: zope interfaces are not visible to mypy without the mypy-zope plugin.)
    predicate: Any = LogLevelFilterPredicate(defaultLogLevel=LogLevel.warn)
    stderr_observer: Any = textFileLogObserver(sys.stderr)
    observer: Any = FilteringLogObserver(stderr_observer, [predicate])
    globalLogBeginner.beginLoggingTo([observer], redirectStandardIO=False)
    codes: list[int] = []

    def main(reactor: Any) -> Any:
        from twisted.internet.defer import Deferred

        d = Deferred.fromCoroutine(_deliver(reactor, settings, user, address, sender, stream))
        d.addCallback(codes.append)
        return d

    try:
        task.react(main)  # always ends in SystemExit; our own code is in ``codes``
    except SystemExit:
        pass
    return codes[0] if codes else EX_TEMPFAIL


async def _deliver(
    reactor: Any,
    settings: Settings,
    user: str,
    address: str,
    sender: str | None,
    stream: BinaryIO,
) -> int:
    from twisted.internet.defer import maybeDeferred

    from mailsuite.auth.factory import build_auth_service
    from mailsuite.auth.interfaces import LoginContext
    from mailsuite.delivery.deliver import deliver
    from mailsuite.delivery.result import DeliveryRequest, Status
    from mailsuite.delivery.scripts import ScriptSource
    from mailsuite.delivery.sieverun import strip_detail
    from mailsuite.errors import ErrorKind, MailError
    from mailsuite.protocols.lmtp.relay import RelaySender, parse_relay
    from mailsuite.service.compose import make_store_factory
    from mailsuite.service.lmtp import delivery_options

    def err(text: str) -> None:
        print(f"mailsuite deliver({user}): {text}", file=sys.stderr)

    try:
        options = delivery_options(settings)
        relay_host, relay_port = parse_relay(settings.sieve.relay)
        auth = build_auth_service(
            settings,
            reactor=reactor,
            run_blocking=maybeDeferred,
            store_factory=make_store_factory(settings, None),
        )
    except Exception as e:
        err(f"configuration: {e}")
        return EX_TEMPFAIL
    spool_dir = resolve_path(settings, os.path.join(settings.server.state_dir, "lmtp-spool"))
    try:
        os.makedirs(spool_dir, exist_ok=True)
    except OSError:
        spool_dir = tempfile.gettempdir()
    try:
        spool, mbox_sender = _read_spool(stream, spool_dir)
    except OSError as e:
        err(f"cannot spool the message: {e}")
        return EX_TEMPFAIL
    try:
        rcpt = address or user
        base, detail = strip_detail(rcpt, options.recipient_delimiter)
        lookup_name = user
        try:
            record = await auth.lookup(lookup_name, LoginContext(service="lda", remote_ip=""))
        except Exception as e:
            err(f"userdb lookup failed: {e}")
            return EX_TEMPFAIL
        if record is None:
            err("user doesn't exist")
            return EX_NOUSER
        try:
            store = auth.open_store(record)
        except MailError as e:
            err(f"cannot open mail store: {e.detail}")
            return EX_UNAVAILABLE if e.kind is ErrorKind.PERM else EX_TEMPFAIL
        request = DeliveryRequest(
            user=record.username,
            recipient=rcpt,
            sender=sender if sender is not None else (mbox_sender or ""),
            detail=detail if base else "",
            session_id="lda",
            service="lda",
        )
        scripts = ScriptSource(settings.sieve, lambda p: resolve_path(settings, p))(record)
        result = deliver(store, spool, request, scripts=scripts, options=options)
        if result.status is Status.OK:
            send = RelaySender(reactor, relay_host, relay_port, settings.server.hostname)
            for out in result.outgoing:
                try:
                    await send(out, spool)
                except Exception as e:
                    err(f"sending {out.kind} to {','.join(out.recipients)} failed: {e}")
                    if out.kind == "redirect" and not result.stored:
                        return EX_TEMPFAIL
            return EX_OK
        err(f"{result.code} {result.enhanced} {result.text}")
        return EX_TEMPFAIL if result.status is Status.TEMPFAIL else EX_UNAVAILABLE
    finally:
        spool.close()
