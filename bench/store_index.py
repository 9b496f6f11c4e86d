"""Store benchmark: the index/cache of one big Maildir (100,000 messages by default).

    .venv/bin/python -m bench.store_index [--messages N] [--dir PATH] [--json]

Generates the mailbox deterministically (seeded), then runs each phase in a
fresh Python process so every figure includes what a new server process
pays, and reports wall time, CPU time of this process (``time.process_time``,
``<phase>_cpu``: less disturbed by a loaded machine) and that process's peak
RSS (``ru_maxrss``):

* ``build``: index from nothing (UIDs assigned, every file hashed, header cache filled);
* ``open_cold``: a new process opens the mailbox and takes its first snapshot;
* ``sync_unchanged``: a further snapshot with nothing changed (no directory is listed);
* ``sync_after_one_flag_change``: a snapshot right after this process renamed one file;
* ``sync_after_own_append``: a snapshot right after this process appended one message;
* ``sync_after_external_rename``: a snapshot after another agent (mutt) renamed one file;
* ``fetch_envelopes_fill``: flags + ENVELOPE of every message, filling the cache;
* ``fetch_envelopes_cached``: the same again, from the cache only;
* ``fetch_env_bs_cached``: ENVELOPE + BODYSTRUCTURE of every message, from the cache;
* ``rebuild``: the index files deleted, rebuilt (hashes known, no file is read).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

__all__ = ["generate", "phase", "main"]

WORDS = "alpha beta gamma delta report meeting invoice release patch review lunch".split()
FLAG_CHOICES = ["", "S", "S", "S", "RS", "FS", "ST", "Sa", "Sab"]


def generate(root: str, n: int, seed: int = 1) -> int:
    """Write ``n`` messages into ``root``/cur (Dovecot-style names, no uidlist); returns bytes."""
    rng = random.Random(seed)
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    with open(os.path.join(root, "dovecot-keywords"), "w") as f:
        f.write("0 $Forwarded\n1 Work\n")
    total = 0
    for i in range(n):
        subject = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 7)))
        body = "\n".join(
            " ".join(rng.choice(WORDS) for _ in range(12)) for _ in range(rng.randint(3, 40))
        )
        data = (
            f"Return-Path: <sender{i % 97}@example.org>\n"
            f"Received: from mx.example.org by mail.example.org; Tue, 14 Nov 2023 10:00:00 +0000\n"
            f"From: Sender {i % 97} <sender{i % 97}@example.org>\n"
            f"To: Alice <alice@example.org>\nSubject: {subject} #{i}\n"
            f"Date: Tue, 14 Nov 2023 10:{i % 60:02d}:00 +0000\nMessage-ID: <{i}@example.org>\n"
            f"MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n{body}\n"
        ).encode()
        vsize = len(data) + data.count(b"\n")
        base = f"{1700000000 + i}.M{i % 1000000}P1Q{i}.bench,S={len(data)},W={vsize}"
        path = os.path.join(root, "cur", f"{base}:2,{rng.choice(FLAG_CHOICES)}")
        with open(path, "wb") as f:
            f.write(data)
        os.utime(path, (1700000000 + i, 1700000000 + i))
        total += len(data)
    past = time.time() - 3600
    for sub in ("cur", "new"):
        os.utime(os.path.join(root, sub), (past, past))
    return total


PHASE_KEYS = (
    "build",
    "open_cold",
    "sync_unchanged",
    "sync_after_one_flag_change",
    "sync_after_own_append",
    "sync_after_external_rename",
    "fetch_envelopes_fill",
    "fetch_envelopes_cached",
    "fetch_env_bs_cached",
    "rebuild",
)


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class _Timer:
    """Wall and CPU time of a block, stored as ``key`` and ``key_cpu``."""

    def __init__(self, out: dict[str, Any], key: str, repeat: int = 1) -> None:
        self.out, self.key, self.repeat = out, key, repeat

    def __enter__(self) -> None:
        self.w, self.c = time.perf_counter(), time.process_time()

    def __exit__(self, *exc: object) -> None:
        self.out[self.key] = (time.perf_counter() - self.w) / self.repeat
        self.out[self.key + "_cpu"] = (time.process_time() - self.c) / self.repeat


def phase(name: str, root: str) -> dict[str, Any]:
    """Run one phase in this process; returns its figures."""
    from mailsuite.store.api import FlagMode
    from mailsuite.store.maildir import open_user_store

    out: dict[str, Any] = {}
    first_key = {"build": "build", "rebuild": "rebuild", "open": "open_cold"}.get(name, "_open")
    with _Timer(out, first_key):
        store = open_user_store(root, user="bench", fsync=False, log=lambda s: None)
        mbox = store.open_mailbox("INBOX")
        snap = mbox.snapshot()
    if name == "open":
        with _Timer(out, "sync_unchanged", 10):
            for _ in range(10):
                again = mbox.snapshot()
        assert len(again.messages) == len(snap.messages)
    elif name == "flag":
        # Our own STORE renames a file in cur/ (so cur/'s mtime is too fresh to trust);
        # the next sync should still not need to list cur/ again.
        first = snap.messages[0].uid
        mbox.set_flags([first], ["\\Flagged"], FlagMode.ADD)
        with _Timer(out, "sync_after_one_flag_change"):
            mbox.snapshot()
        mbox.append(b"From: a@example.org\nSubject: own append\n\nbody\n")
        with _Timer(out, "sync_after_own_append"):
            mbox.snapshot()
        # Another agent (mutt) renames a file: cur/ must be listed to see it.
        cur = os.path.join(root, "cur")
        victim = next(n for n in sorted(os.listdir(cur)) if n.endswith(":2,S"))
        os.rename(os.path.join(cur, victim), os.path.join(cur, victim + "F"))
        with _Timer(out, "sync_after_external_rename"):
            after = mbox.snapshot()
        assert any(r.filename == victim.partition(":")[0] and "\\Flagged" in r.flags
                   for r in after.messages)  # fmt: skip
    elif name == "fetch":
        for key in ("fetch_envelopes_fill", "fetch_envelopes_cached"):
            seen = 0
            with _Timer(out, key):
                for rec in mbox.snapshot().messages:
                    env = mbox.envelope(rec.uid)
                    seen += len(rec.flags) + (1 if env.subject else 0)
        with _Timer(out, "fetch_env_bs_cached"):
            for rec in mbox.snapshot().messages:
                env = mbox.envelope(rec.uid)
                bs = mbox.bodystructure(rec.uid)
                seen += len(rec.flags) + (1 if env.subject else 0) + (1 if bs else 0)
    out["messages"] = len(snap.messages)
    out[f"peak_rss_mib_{name}"] = round(_rss_mib(), 1)
    mbox.close()
    return out


def age_dirs(root: str) -> None:
    """Make the directories look untouched for an hour, as in a mailbox at rest."""
    past = time.time() - 3600
    for sub in ("cur", "new"):
        os.utime(os.path.join(root, sub), (past, past))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--dir", default="")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.phase:
        print(json.dumps(phase(args.phase, args.dir)))
        return 0
    base = args.dir or tempfile.mkdtemp(prefix="mailsuite-bench-store-")
    root = os.path.join(base, "bench")
    results: dict[str, Any] = {"messages_generated": args.messages}
    try:
        t0 = time.perf_counter()
        results["bytes"] = generate(root, args.messages)
        results["generate"] = time.perf_counter() - t0

        def run(name: str) -> None:
            res = subprocess.run(
                [sys.executable, "-m", "bench.store_index", "--phase", name, "--dir", root],
                capture_output=True,
                text=True,
                check=True,
            )
            results.update(json.loads(res.stdout.strip().splitlines()[-1]))

        run("build")
        age_dirs(root)
        run("open")  # the first open after aging stores trusted stamps
        run("open")
        run("fetch")
        run("flag")
        for f in glob.glob(os.path.join(root, "*index*")):
            os.unlink(f)
        run("rebuild")
    finally:
        if not args.dir:
            shutil.rmtree(base, ignore_errors=True)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        n = results["messages_generated"]
        print(f"store index benchmark: {n} messages, {results['bytes'] / 2**20:.0f} MiB")
        for key in PHASE_KEYS:
            if key in results:
                print(f"  {key:28s} {results[key] * 1000:10.1f} ms  "
                      f"cpu {results[key + '_cpu'] * 1000:10.1f} ms")  # fmt: skip
        for key in sorted(k for k in results if k.startswith("peak_rss")):
            print(f"  {key:24s} {results[key]:10.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
