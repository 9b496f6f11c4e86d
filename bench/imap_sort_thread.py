"""SORT and THREAD benchmark: RFC 5256 over one big Maildir, from the store's caches.

    .venv/bin/python -m bench.imap_sort_thread [--messages N] [--dir PATH] [--repeat R] [--json]

Writes a seeded mailbox (10,000 messages by default) of mailing-list-like
threads: about a third start a thread, the rest answer a recent message
with ``Re:`` subjects, References chains and list tags, some with no Date:
or a duplicate Message-ID. The store builds its index once; one untimed
run fills the envelope and header caches; then
:func:`mailsuite.protocols.imap.sort.sort_uids` and
:func:`mailsuite.protocols.imap.thread.thread_uids` are timed directly (no
socket, no session), best of ``--repeat`` runs, including rendering the
response line. The ``*_preloaded`` figures take the store's per-message
cache reads out (envelopes/fields already in memory): the algorithms alone.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from typing import Any

from mailsuite.protocols.imap.sort import sort_uids
from mailsuite.protocols.imap.thread import fields_loader, thread_uids
from mailsuite.protocols.imap.wire.thread_render import thread_response
from mailsuite.store.maildir import open_user_store

WORDS = "release invoice lunch patch review meeting build report plan budget notes".split()


def generate(root: str, n: int, seed: int = 5256) -> None:
    """Write ``n`` threaded messages into ``root``/cur."""
    rng = random.Random(seed)
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    msgs: list[tuple[str, str, list[str]]] = []  # (id, subject, references)
    for i in range(n):
        mid = f"<{i}.{rng.randrange(1 << 30)}@lists.example.org>"
        if rng.random() < 0.002 and msgs:
            mid = rng.choice(msgs)[0]  # a duplicate Message-ID
        if not msgs or rng.random() < 0.35:
            subject = "[dev] " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 6)))
            refs: list[str] = []
        else:
            parent = msgs[max(0, len(msgs) - rng.randint(1, 500))]
            subject = "Re: " + parent[1].removeprefix("Re: ")
            refs = (parent[2] + [parent[0]])[-20:]
        msgs.append((mid, subject, refs))
        date = (
            ""
            if rng.random() < 0.02
            else (f"Date: Tue, 14 Nov 2023 {i % 24:02d}:{i % 60:02d}:00 +0{rng.randint(0, 9)}00\n")
        )
        data = (
            f"From: Sender {i % 97} <sender{i % 97}@example.org>\nTo: dev@lists.example.org\n"
            f"Subject: {subject}\n{date}Message-ID: {mid}\n"
            + (f"In-Reply-To: {refs[-1]}\nReferences: {' '.join(refs)}\n" if refs else "")
            + "\n"
            + " ".join(rng.choice(WORDS) for _ in range(60))
            + "\n"
        ).encode()
        base = f"{1700000000 + i}.M{i}P1Q{i}.bench,S={len(data)}"
        with open(os.path.join(root, "cur", base + ":2,S"), "wb") as f:
            f.write(data)
        os.utime(os.path.join(root, "cur", base + ":2,S"), (1700000000 + i, 1700000000 + i))


def _threads(algorithm: str, uids: list[int], snap: Any, load_fields: Any) -> int:
    """THREAD plus rendering of the response line; returns the number of threads."""
    threads = thread_uids(algorithm, uids, snap, load_fields)
    thread_response(threads)
    return len(threads)


def best_of(repeat: int, f: Callable[[], Any]) -> tuple[float, Any]:
    best = float("inf")
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = f()
        best = min(best, time.perf_counter() - t0)
    return best, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--messages", type=int, default=10_000)
    ap.add_argument("--dir", default=None)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    base = args.dir or tempfile.mkdtemp(prefix="bench-sortthread-")
    try:
        root = os.path.join(base, "mail")
        if not os.path.isdir(os.path.join(root, "cur")):
            generate(root, args.messages)
        store = open_user_store(root, user="bench", fsync=False)
        box = store.open_mailbox("INBOX")
        t0 = time.perf_counter()
        snap = box.snapshot()
        index_s = time.perf_counter() - t0
        uids = [m.uid for m in snap.messages]
        load_fields = fields_loader(box)
        # One untimed pass fills the envelope and header caches (as a first SORT would).
        sort_uids([("SUBJECT", False)], uids, snap, box.envelope)
        thread_uids("REFERENCES", uids, snap, load_fields)
        envelopes = {u: box.envelope(u) for u in uids}
        fields = {u: load_fields(u) for u in uids}
        figures: dict[str, Any] = {"messages": len(uids), "index_build_s": round(index_s, 3)}
        runs = {
            "sort_arrival": lambda: sort_uids([("ARRIVAL", False)], uids, snap, box.envelope),
            "sort_subject_envelopes": lambda: sort_uids(
                [("SUBJECT", False)], uids, snap, box.envelope
            ),
            "sort_subject_header_cache": lambda: sort_uids(
                [("SUBJECT", False)], uids, snap, box.envelope, load_fields=load_fields
            ),
            "sort_date_header_cache": lambda: sort_uids(
                [("DATE", False)], uids, snap, box.envelope, load_fields=load_fields
            ),
            "sort_reverse_date_from": lambda: sort_uids(
                [("DATE", True), ("FROM", False)], uids, snap, box.envelope
            ),
            "thread_references": lambda: _threads("REFERENCES", uids, snap, load_fields),
            # The algorithms alone, the store's per-message cache reads taken out:
            "sort_subject_preloaded": lambda: sort_uids(
                [("SUBJECT", False)], uids, snap, envelopes.__getitem__
            ),
            "thread_references_preloaded": lambda: _threads(
                "REFERENCES", uids, snap, fields.__getitem__
            ),
            "thread_orderedsubject": lambda: _threads("ORDEREDSUBJECT", uids, snap, load_fields),
        }
        for name, run in runs.items():
            seconds, result = best_of(args.repeat, run)
            figures[name + "_s"] = round(seconds, 4)
            if isinstance(result, int):
                figures[name + "_threads"] = result
        box.close()
    finally:
        if args.dir is None:
            shutil.rmtree(base, ignore_errors=True)
    if args.json:
        print(json.dumps(figures))
    else:
        for k, v in figures.items():
            print(f"{k:32} {v}")


if __name__ == "__main__":
    main()
