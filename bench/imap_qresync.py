"""QRESYNC reconnect benchmark (RFC 7162 3.2.5): resync after changes vs a full flag refetch.

    .venv/bin/python -m bench.imap_qresync [--messages N] [--changes C] [--rounds R]
        [--servers mailsuite,dovecot-tuned] [--workdir DIR] [--json]

Writes one INBOX of ``N`` small messages (100,000 by default) for one user,
gives each server a hard-linked copy (the same ``bench.servers`` classes the
main harness runs), and per round:

1. a client that knows the mailbox (UIDVALIDITY, HIGHESTMODSEQ, every UID)
   logs out;
2. another session makes ``C`` changes (100 by default): 80% flag changes on
   random messages, 20% expunges;
3. the first client comes back two ways, each timed from SELECT to the
   tagged OK of its last command:
   * ``SELECT INBOX (QRESYNC (uidvalidity modseq))``: VANISHED (EARLIER) plus
     FETCH for only the changed messages;
   * ``SELECT INBOX`` + ``UID FETCH 1:* (FLAGS)``: every message's flags.

The QRESYNC answer is checked (exactly the expunged UIDs vanished, every
flag-changed UID fetched). Times are the median over rounds; bytes are what
the server sent for the resync.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import statistics
import time
from typing import Any

from bench.client.imap import ImapClient, Response
from bench.seed import DEFAULT_WORKDIR, Manifest
from bench.servers import ALL_SERVERS, Server, ServerStartError

__all__ = ["main"]

USER = "qresync00"
PASSWORD = "qresync-pw"
_UV = re.compile(rb"\[UIDVALIDITY (\d+)\]")
_HMS = re.compile(rb"\[HIGHESTMODSEQ (\d+)\]")
_VANISHED = re.compile(rb"^\* VANISHED \(EARLIER\) ([\d,:]+)")
_UID = re.compile(rb"\bUID (\d+)\b")


def write_template(root: str, n: int, seed: int = 7162) -> str:
    """A template (``root/mail/USER`` Maildir with ``n`` messages) in the harness's layout."""
    mail = os.path.join(root, "mail", USER)
    done = os.path.join(root, f"done-{n}")
    if os.path.exists(done):
        return root
    shutil.rmtree(root, ignore_errors=True)
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(mail, sub))
    rng = random.Random(seed)
    base = 1_700_000_000
    for i in range(n):
        body = f"message {i} " + "x" * rng.randint(50, 400) + "\n"
        data = (
            f"From: sender{i % 97}@example.org\nTo: {USER}@example.org\n"
            f"Subject: resync test {i}\nMessage-ID: <{i}@bench.example.org>\n"
            f"Date: Tue, 14 Nov 2023 10:00:00 +0000\n\n{body}"
        ).encode()
        flags = "S" if rng.random() < 0.7 else ""
        name = f"{base + i}.M{i}P1.bench,S={len(data)}:2,{flags}"
        path = os.path.join(mail, "cur", name)
        with open(path, "wb") as f:
            f.write(data)
        os.utime(path, (base + i, base + i))
    open(done, "w").close()
    return root


def _uids(text: bytes) -> set[int]:
    out: set[int] = set()
    for part in text.split(b","):
        lo, _, hi = part.partition(b":")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


def _bytes(r: Response) -> int:
    return sum(len(u.line) + 2 + sum(len(x) for x in u.literals) for u in r.untagged)


async def _login(server: Server) -> ImapClient:
    c = await ImapClient.connect(server.ports["imap"])
    await c.login(USER, PASSWORD)
    return c


async def _state(server: Server) -> tuple[int, int, list[int]]:
    """(UIDVALIDITY, HIGHESTMODSEQ, UIDs) as a client caching the mailbox would keep them."""
    c = await _login(server)
    await c.command("ENABLE QRESYNC")
    r = await c.command("SELECT INBOX")
    text = b"\n".join(u.line for u in r.untagged)
    uv, hms = _UV.search(text), _HMS.search(text)
    assert uv is not None and hms is not None, text
    fetched = await c.command("UID FETCH 1:* (UID)")
    uids = sorted(int(m.group(1)) for u in fetched.fetches() if (m := _UID.search(u.line)))
    await c.logout()
    await c.close()
    return int(uv.group(1)), int(hms.group(1)), uids


async def _change(
    server: Server, uids: list[int], changes: int, rng: random.Random, round_no: int
) -> tuple[list[int], list[int]]:
    """Make ``changes`` changes elsewhere; return (flag-changed UIDs, expunged UIDs)."""
    picked = rng.sample(uids, changes)
    cut = changes * 4 // 5
    flagged, gone = sorted(picked[:cut]), sorted(picked[cut:])
    c = await _login(server)
    await c.command("SELECT INBOX")
    for uid in flagged:
        # A keyword new in each round: every STORE is a real change, even on a message
        # picked in an earlier round (a no-op STORE rightly changes no MODSEQ).
        await c.command(f"UID STORE {uid} +FLAGS.SILENT (\\Flagged $Round{round_no})")
    await c.command("UID STORE " + ",".join(map(str, gone)) + " +FLAGS.SILENT (\\Deleted)")
    await c.command("UID EXPUNGE " + ",".join(map(str, gone)))
    await c.logout()
    await c.close()
    return flagged, gone


async def _round(
    server: Server, changes: int, rng: random.Random, round_no: int
) -> dict[str, float]:
    uv, hms, uids = await _state(server)
    flagged, gone = await _change(server, uids, changes, rng, round_no)

    c = await _login(server)
    await c.command("ENABLE QRESYNC")
    started = time.perf_counter()
    r = await c.command(f"SELECT INBOX (QRESYNC ({uv} {hms} {uids[0]}:{uids[-1]}))")
    qresync_s = time.perf_counter() - started
    vanished: set[int] = set()
    for u in r.untagged:
        m = _VANISHED.match(u.line)
        if m:
            vanished |= _uids(m.group(1))
    fetched = {int(m.group(1)) for u in r.fetches() if (m := _UID.search(u.line))}
    if vanished != set(gone) or not set(flagged) <= fetched:
        raise AssertionError(
            f"{server.name}: wrong QRESYNC answer: vanished {len(vanished)} (want {len(gone)}),"
            f" fetched {len(fetched)} (want {len(flagged)})"
        )
    qresync_bytes = _bytes(r)
    await c.logout()
    await c.close()

    c = await _login(server)
    started = time.perf_counter()
    r1 = await c.command("SELECT INBOX")
    r2 = await c.command("UID FETCH 1:* (FLAGS)")
    full_s = time.perf_counter() - started
    if len(r2.fetches()) != len(uids) - len(gone):
        raise AssertionError(f"{server.name}: full FETCH returned {len(r2.fetches())} messages")
    full_bytes = _bytes(r1) + _bytes(r2)
    await c.logout()
    await c.close()
    return {
        "qresync_s": qresync_s,
        "full_s": full_s,
        "qresync_bytes": qresync_bytes,
        "full_bytes": full_bytes,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.imap_qresync", description=__doc__)
    p.add_argument("--messages", type=int, default=100_000)
    p.add_argument("--changes", type=int, default=100)
    p.add_argument("--rounds", type=int, default=3, choices=range(1, 21))
    p.add_argument("--servers", default="mailsuite,dovecot-tuned")
    p.add_argument("--workdir", default=DEFAULT_WORKDIR + "-qresync")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    os.makedirs(args.workdir, mode=0o755, exist_ok=True)
    os.chmod(args.workdir, 0o755)
    template = write_template(os.path.join(args.workdir, "template"), args.messages)
    manifest = Manifest(profile={"messages": args.messages}, passwords={USER: PASSWORD})
    results: dict[str, Any] = {}
    for name in args.servers.split(","):
        server = ALL_SERVERS[name](os.path.join(args.workdir, "run"))
        why = server.unavailable()
        if why:
            results[name] = {"skipped": why}
            continue
        server.prepare(template, manifest)
        try:
            server.start()
        except ServerStartError as e:
            results[name] = {"skipped": str(e).splitlines()[0]}
            continue
        try:
            rng = random.Random(4551)
            asyncio.run(_state(server))  # first SELECT builds the index: not measured
            rounds = [asyncio.run(_round(server, args.changes, rng, i)) for i in range(args.rounds)]
        finally:
            server.stop()
        results[name] = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    print(
        f"QRESYNC reconnect, {args.messages:,} messages, {args.changes} changes, "
        f"median of {args.rounds} rounds"
    )
    print(
        "| server | QRESYNC SELECT | SELECT + UID FETCH 1:* (FLAGS) | bytes QRESYNC | bytes full |"
    )
    print("|---|---|---|---|---|")
    for name, res in results.items():
        if "skipped" in res:
            print(f"| {name} | skipped: {res['skipped']} | | | |")
            continue
        print(
            f"| {name} | {res['qresync_s'] * 1000:.1f} ms | {res['full_s'] * 1000:.1f} ms"
            f" | {res['qresync_bytes']:,} | {res['full_bytes']:,} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
