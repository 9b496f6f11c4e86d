"""Run Dovecot Pigeonhole's ``sieve-test`` and reduce its report to comparable outcomes.

Used by ``test_pigeonhole.py`` to check our engine against the reference
implementation Dovecot users run today: same script, same message, same
envelope, same decisions.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from mailsuite.sieve import (
    Action,
    FileInto,
    Keep,
    MessageContext,
    Redirect,
    Reject,
    SieveError,
    Vacation,
    compile_script,
    evaluate,
)
from tests.sieve.support import context

SIEVE_TEST = shutil.which("sieve-test")

Outcome = frozenset[tuple[object, ...]]
COMPILE_ERROR: Outcome = frozenset({("compile-error",)})
RUNTIME_ERROR: Outcome = frozenset({("runtime-error",)})


@dataclass(frozen=True)
class Pigeonhole:
    """A private sieve-test set-up in a world-readable temporary directory."""

    workdir: str
    config: str

    def outcome(self, script: str, message: str, sender: str, recipient: str) -> Outcome:
        """What Pigeonhole decides for ``message`` under ``script``."""
        spath = os.path.join(self.workdir, "s.sieve")
        mpath = os.path.join(self.workdir, "m.eml")
        for path, text in ((spath, script), (mpath, message)):
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            os.chmod(path, 0o644)
        binary = os.path.join(self.workdir, "s.svbin")
        if os.path.exists(binary):
            os.unlink(binary)
        proc = self._run(spath, mpath, sender, recipient)
        if "failed to compile" in proc.stderr:
            return COMPILE_ERROR
        if "final result: failed" in proc.stderr:
            return RUNTIME_ERROR
        assert "Performed actions:" in proc.stdout, proc.stdout + proc.stderr
        outcome = parse_report(proc.stdout)
        if ("vacation",) in outcome:
            # The dry run lists every vacation; whether one may really be sent
            # (lists, bulk, own address...) is decided on execution (-e), where
            # sieve-test prints outgoing mail instead of sending it.
            executed = self._run(spath, mpath, sender, recipient, "-e")
            if "sent vacation response" not in executed.stderr:
                outcome = outcome - {("vacation",)}
        return outcome

    def _run(
        self, spath: str, mpath: str, sender: str, recipient: str, *extra: str
    ) -> subprocess.CompletedProcess[str]:
        assert SIEVE_TEST is not None
        return subprocess.run(
            [SIEVE_TEST, *extra, "-c", self.config, "-f", sender, "-r", recipient,
             "-a", recipient, spath, mpath],
            capture_output=True, text=True, timeout=60, check=False,
            env={**os.environ, "HOME": self.workdir},
        )  # fmt: skip


def parse_report(report: str) -> Outcome:
    """Reduce sieve-test's "Performed actions" and "Implicit keep" lists to tuples."""
    out: set[tuple[object, ...]] = set()
    current: dict[str, object] | None = None

    def flush() -> None:
        nonlocal current
        if current is not None:
            out.add(_store(current))
            current = None

    for raw in report.splitlines():
        line = raw.strip()
        if line.startswith("* store message in folder: "):
            flush()
            current = {"folder": line.split(": ", 1)[1], "flags": frozenset(), "create": False}
        elif line.startswith("+ add IMAP flags: ") and current is not None:
            current["flags"] = frozenset(f.lower() for f in line.split(": ", 1)[1].split())
        elif line.startswith("+ create mailbox") and current is not None:
            current["create"] = True
        elif line.startswith("* "):
            flush()
            if line.startswith("* redirect message to: "):
                out.add(("redirect", line.split(": ", 1)[1].strip("<>")))
            elif line.startswith("* reject message with reason: "):
                out.add(("reject", line.split(": ", 1)[1]))
            elif line.startswith("* send vacation message"):
                out.add(("vacation",))
            # "* discard" only cancels the keep: the absence of a store says it.
    flush()
    return frozenset(out)


def _store(entry: dict[str, object]) -> tuple[object, ...]:
    return ("store", entry["folder"], entry["flags"], entry["create"])


def ours(script: str, message: str, sender: str, recipient: str) -> Outcome:
    """What our engine decides, reduced the same way."""
    try:
        compiled = compile_script(script)
    except SieveError:
        return COMPILE_ERROR
    ctx: MessageContext = context(message, mail_from=sender, rcpt=recipient)
    try:
        actions = evaluate(compiled, ctx)
    except SieveError:
        return RUNTIME_ERROR
    return frozenset(_reduce(a) for a in actions if _reduce(a) is not None)  # type: ignore[misc]


def _reduce(action: Action) -> tuple[object, ...] | None:
    match action:
        case Keep(flags=flags):
            return ("store", "INBOX", frozenset(f.lower() for f in flags), False)
        case FileInto(mailbox=mb, flags=flags, create=create):
            return ("store", mb, frozenset(f.lower() for f in flags), create)
        case Redirect(address=addr):
            return ("redirect", addr)
        case Reject(reason=reason):
            return ("reject", reason)
        case Vacation():
            return ("vacation",)
    return None


@contextmanager
def pigeonhole() -> Iterator[Pigeonhole]:
    """A Pigeonhole set-up; sieve-test drops to nobody when run as root."""
    workdir = tempfile.mkdtemp(prefix="mailsuite-pigeonhole-")
    os.chmod(workdir, 0o777)  # sieve-test, as nobody, reads here and saves its .svbin
    uid, gid = (65534, 65534) if os.geteuid() == 0 else (os.getuid(), os.getgid())
    config = os.path.join(workdir, "dovecot.conf")
    with open(config, "w") as f:
        f.write(
            f"mail_uid = {uid}\nmail_gid = {gid}\nfirst_valid_uid = 1\nfirst_valid_gid = 1\n"
            f"mail_location = maildir:{workdir}/mail\n"
            "plugin {\n  sieve_extensions = +vacation-seconds\n}\n"
        )
    os.chmod(config, 0o644)
    try:
        yield Pigeonhole(workdir, config)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
