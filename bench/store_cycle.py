"""Store hot-path benchmark: what each store call of an IMAP cycle and an LMTP delivery costs.

    .venv/bin/python -m bench.store_cycle [--sizes 100,5000] [--reps 300] [--json FILE]
                                          [--compare BEFORE.json] [--no-fsync]

On a temporary Maildir user whose INBOX holds 100 and 5,000 messages (made
with :func:`bench.seed.generate_message`, ENVELOPE/BODYSTRUCTURE cached by a
first pass), the store calls the IMAP mixed cycle makes are repeated
``--reps`` times, each timed and counted on its own:

* ``select``: ``open_user_store`` + ``open_mailbox("INBOX")`` + ``snapshot()`` (LOGIN + SELECT);
* ``fetch10``: ``envelope()`` + ``bodystructure()`` of 10 cached messages;
* ``flag``: ``set_flags(+/-\\Flagged)`` of one message and the snapshot STORE takes after it;
* ``append``: ``append`` of a 4 KB message through the selected mailbox (APPEND);
* ``noop``: ``snapshot()`` with nothing changed (NOOP, and the sync after every command);
* ``expunge``: ``set_flags(+\\Deleted)`` + snapshot, ``expunge()`` + snapshot;
* ``close``: ``close()`` of the mailbox (LOGOUT);
* ``deliver``: what LMTP does per recipient: ``open_user_store``, ``open_mailbox("INBOX")``,
  ``append`` from a file object, ``close()``.

Per operation it reports CPU microseconds (``time.process_time``, this
process only: less disturbed by other work on the machine than wall time),
SQLite statements and transactions (``set_trace_callback`` on every index and
state connection the store opens; a statement outside an explicit
transaction is a transaction of its own), and file-system calls
(``fsync``+``fdatasync``, ``stat``+``fstat``, ``open``, ``rename``) counted by
wrapping the ``os`` functions inside this process only. Counting costs CPU
itself: ``--bare`` measures CPU alone. ``--json`` saves the figures;
``--compare`` prints them next to an earlier run's, with ratios.
"""

from __future__ import annotations

import argparse
import builtins
import functools
import io
import json
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["Counters", "OPS", "make_inbox", "measure", "main"]

OPS = ("select", "fetch10", "flag", "append", "noop", "expunge", "close", "deliver")
METRICS = ("cpu_us", "sql", "tx", "fsync", "stat", "open", "rename")
USER = "bench"


class Counters:
    """Counts SQLite statements and file-system calls made by this process."""

    def __init__(self) -> None:
        self.n: dict[str, int] = dict.fromkeys(METRICS[1:], 0)
        self._undo: list[Callable[[], None]] = []

    def snapshot(self) -> dict[str, int]:
        return dict(self.n)

    def _wrap(self, owner: Any, attr: str, metric: str) -> None:
        orig = getattr(owner, attr)
        n = self.n

        @functools.wraps(orig)
        def counted(*a: Any, **k: Any) -> Any:
            n[metric] += 1
            return orig(*a, **k)

        setattr(owner, attr, counted)
        self._undo.append(lambda: setattr(owner, attr, orig))

    def install(self) -> None:
        """Wrap the ``os`` calls and the store's SQLite ``connect``."""
        from mailsuite.store.maildir import index as index_mod
        from mailsuite.store.maildir import state as state_mod

        for attr, metric in (
            ("fsync", "fsync"),
            ("fdatasync", "fsync"),
            ("stat", "stat"),
            ("fstat", "stat"),
            ("open", "open"),
            ("rename", "rename"),
            ("replace", "rename"),
        ):
            self._wrap(os, attr, metric)
        self._wrap(builtins, "open", "open")
        n = self.n
        real_connect = state_mod.connect

        def traced_connect(path: str, synchronous: str) -> sqlite3.Connection:
            conn = real_connect(path, synchronous)

            def trace(stmt: str) -> None:
                n["sql"] += 1
                # A statement outside BEGIN..COMMIT is a transaction (and a lock) of its own.
                if stmt.startswith("BEGIN") or not conn.in_transaction:
                    n["tx"] += 1

            conn.set_trace_callback(trace)
            return conn

        for mod in (state_mod, index_mod):
            if getattr(mod, "connect", None) is real_connect:
                mod.connect = traced_connect  # type: ignore[attr-defined]
                self._undo.append(functools.partial(setattr, mod, "connect", real_connect))

    def uninstall(self) -> None:
        while self._undo:
            self._undo.pop()()


def appended_message(n: int) -> bytes:
    """A 4 KB text message with CRLF line ends, as a client APPENDs it."""
    line = b"The quick brown fox jumps over the lazy dog, again and again and again.\r\n"
    head = (
        f"From: Bench <bench@bench.test>\r\nTo: <{USER}@bench.test>\r\n"
        f"Subject: appended {n}\r\nMessage-ID: <append.{n}@bench.test>\r\n"
        "Date: Mon, 23 Nov 2026 12:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
    ).encode()
    return head + line * ((4096 - len(head)) // len(line))


def make_inbox(root: str, count: int, seed: int = 7) -> None:
    """Write a Maildir++ root whose INBOX holds ``count`` messages (no index yet)."""
    from bench.seed import _vocabulary, generate_message

    vocab = _vocabulary(seed)
    rng = random.Random(f"store_cycle:{seed}:{count}")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    start = datetime(2025, 1, 1, 8, 0, tzinfo=UTC)
    for i in range(count):
        when = start + timedelta(minutes=i)
        data, _kind = generate_message(rng, vocab, i, when)
        stamp = int(when.timestamp())
        flags = "S" if rng.random() < 0.7 else ""
        path = os.path.join(root, "cur", f"{stamp}.M{i:06d}P1.bench,S={len(data)}:2,{flags}")
        with open(path, "wb") as f:
            f.write(data)
        os.utime(path, (stamp, stamp))
    # A mailbox that has existed for a while: its directory stamps are old enough
    # to trust (a fresh one is listed at every sync; see mailsuite.store.maildir.scan).
    old = time.time() - 3600
    for sub in ("cur", "new", "tmp"):
        os.utime(os.path.join(root, sub), (old, old))


def _open(root: str, fsync: bool) -> Any:
    from mailsuite.store.maildir import open_user_store

    return open_user_store(root, user=USER, fsync=fsync, log=lambda line: None)


def warm(root: str, fsync: bool) -> None:
    """Build the index and cache every ENVELOPE/BODYSTRUCTURE, as a long-running server has."""
    box = _open(root, fsync).open_mailbox("INBOX")
    for rec in box.snapshot().messages:
        box.envelope(rec.uid)
        box.bodystructure(rec.uid)
    box.close()


@contextmanager
def _timed(out: dict[str, list[dict[str, float]]], op: str, counters: Counters) -> Iterator[None]:
    before = counters.snapshot()
    t = time.process_time()
    yield
    cpu = time.process_time() - t
    after = counters.snapshot()
    row: dict[str, float] = {"cpu_us": cpu * 1e6}
    row.update({k: after[k] - before[k] for k in after})
    out.setdefault(op, []).append(row)


def measure(
    root: str, reps: int, counters: Counters, fsync: bool = True
) -> dict[str, dict[str, float]]:
    """Run the cycle ``reps`` times; returns op -> metric -> mean per operation.

    ``counters`` must be installed before the store opened the mailbox (so
    its SQLite connections are traced).
    """
    from mailsuite.store.api import FlagMode

    spool = os.path.join(os.path.dirname(root), "spool.eml")
    with open(spool, "wb") as f:
        f.write(appended_message(0))
    samples: dict[str, list[dict[str, float]]] = {}
    for i in range(reps + 5):
        rows: dict[str, list[dict[str, float]]] = samples if i >= 5 else {}  # 5 to warm up
        with _timed(rows, "select", counters):
            box = _open(root, fsync).open_mailbox("INBOX")
            snap = box.snapshot()
        msgs = snap.messages
        with _timed(rows, "fetch10", counters):
            for rec in msgs[-10:]:
                box.envelope(rec.uid)
                box.bodystructure(rec.uid)
        if i == 0:
            target = msgs[0].uid  # the same message throughout (expunges take later ones)
        with _timed(rows, "flag", counters):
            # Alternately set and clear, so every STORE really changes a flag.
            mode = FlagMode.ADD if i % 2 == 0 else FlagMode.REMOVE
            box.set_flags([target], ["\\Flagged"], mode)
            box.snapshot()
        with _timed(rows, "append", counters):
            box.append(appended_message(i), ())
        with _timed(rows, "noop", counters):
            box.snapshot()
        doomed = msgs[len(msgs) // 3].uid
        with _timed(rows, "expunge", counters):
            box.set_flags([doomed], ["\\Deleted"], FlagMode.ADD)
            box.snapshot()
            box.expunge()
            box.snapshot()
        with _timed(rows, "close", counters):
            box.close()
        with _timed(rows, "deliver", counters):
            dbox = _open(root, fsync).open_mailbox("INBOX")
            with open(spool, "rb") as data:
                dbox.append(io.BufferedReader(data), ())  # type: ignore[arg-type]
            dbox.close()
    out: dict[str, dict[str, float]] = {}
    for op, rows in samples.items():
        out[op] = {m: sum(r[m] for r in rows) / len(rows) for m in METRICS}
        # The median too: a shared machine makes a few samples very slow.
        out[op]["cpu_p50"] = statistics.median(r["cpu_us"] for r in rows)
    return out


def _table(results: dict[str, dict[str, dict[str, float]]], before: dict[str, Any] | None) -> str:
    head = f"{'size':>5} {'op':<8}" + "".join(f"{m:>9}" for m in (*METRICS, "cpu_p50"))
    if before is not None:
        head += "   cpu before  ratio  sql before  tx before  fsync before"
    lines = [head]
    for size, ops in results.items():
        for op in OPS:
            v = ops.get(op)
            if v is None:
                continue
            line = f"{size:>5} {op:<8}" + "".join(
                f"{v[m]:>9.0f}" if m.startswith("cpu") else f"{v[m]:>9.1f}"
                for m in (*METRICS, "cpu_p50")
            )
            b = (before or {}).get(size, {}).get(op)
            if b is not None:
                ratio = v["cpu_us"] / b["cpu_us"] if b["cpu_us"] else 0.0
                line += (
                    f"   {b['cpu_us']:>10.0f} {ratio:>6.2f}x {b['sql']:>10.1f} {b['tx']:>10.1f}"
                    f" {b['fsync']:>13.1f}"
                )
            lines.append(line)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.store_cycle", description=__doc__)
    ap.add_argument("--sizes", default="100,5000", help="INBOX sizes, comma-separated")
    ap.add_argument("--reps", type=int, default=300, help="cycles per size")
    ap.add_argument("--json", help="write the figures to this file")
    ap.add_argument("--compare", help="an earlier --json file to print next to these figures")
    ap.add_argument("--no-fsync", action="store_true", help="store with fsync off (not production)")
    ap.add_argument(
        "--bare", action="store_true", help="CPU only: no counting (its wrappers cost CPU too)"
    )
    ap.add_argument("--dir", help="work directory (default: a new temporary one, removed after)")
    args = ap.parse_args(argv)
    work = args.dir or tempfile.mkdtemp(prefix="store-cycle-")
    results: dict[str, dict[str, dict[str, float]]] = {}
    counters = Counters()
    if not args.bare:
        counters.install()
    try:
        for size in (int(s) for s in args.sizes.split(",")):
            root = os.path.join(work, f"inbox-{size}", USER)
            if not os.path.isdir(root):
                make_inbox(root, size)
            warm(root, not args.no_fsync)
            results[str(size)] = measure(root, args.reps, counters, not args.no_fsync)
    finally:
        counters.uninstall()
        if not args.dir:
            shutil.rmtree(work, ignore_errors=True)
    before = None
    if args.compare:
        with open(args.compare) as f:
            before = json.load(f)["results"]
    print(_table(results, before))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"reps": args.reps, "results": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
