"""SEARCH evaluator benchmark: flag, header and body searches over one big Maildir.

    .venv/bin/python -m bench.imap_search [--messages N] [--dir PATH] [--repeat R] [--json]

Generates the mailbox with :func:`bench.store_index.generate` (seeded, 10,000
messages by default), builds the store's index once, then times
:func:`mailsuite.protocols.imap.search.evaluate_search` directly (no socket,
no session) for each program, best of ``--repeat`` runs. The files are in the
page cache after the first run, so the figures are CPU cost, not disk seeks.
The first cached run fills the store's header cache when the index build has
not already (the best-of figure is the warm one).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from typing import Any

from bench.store_index import generate
from mailsuite.protocols.imap.commands import Search, parse_command
from mailsuite.protocols.imap.search import evaluate_search, header_cache_for
from mailsuite.store.maildir import open_user_store

# (name, keys, use the store's header cache)
PROGRAMS = [
    ("flags", b"UNSEEN", False),
    ("flags_uid_size_date", b"UID 1:* LARGER 500 SINCE 1-Jan-2000 NOT DELETED", False),
    ("header_subject_files", b'SUBJECT "invoice release"', False),
    ("header_subject_cache", b'SUBJECT "invoice release"', True),
    ("header_from_files", b'FROM "sender 5"', False),
    ("header_from_cache", b'FROM "sender 5"', True),
    ("header_none_files", b"SUBJECT zzzz", False),
    ("header_none_cache", b"SUBJECT zzzz", True),
    ("header_uncached_field", b"HEADER Return-Path zzzz", True),
    ("body", b'BODY "lunch patch"', True),
    ("body_none", b"BODY zzzz", True),
    ("text_none", b"TEXT zzzz", True),
    ("unseen_and_body", b"UNSEEN BODY zzzz", True),
]


def run(n: int, directory: str | None, repeat: int) -> dict[str, Any]:
    base = directory or tempfile.mkdtemp(prefix="mailsuite-search-bench-")
    root = f"{base}/alice"
    try:
        generate(root, n)
        store = open_user_store(root, user="alice", fsync=False)
        mbox = store.open_mailbox("INBOX")
        t0 = time.perf_counter()
        snap = mbox.snapshot()
        out: dict[str, Any] = {"messages": len(snap.messages), "index_build_s": 0.0}
        out["index_build_s"] = round(time.perf_counter() - t0, 3)
        cache = header_cache_for(mbox)
        for name, keys, cached in PROGRAMS:
            cmd = parse_command(b"a SEARCH " + keys)
            assert isinstance(cmd, Search), cmd
            best = float("inf")
            hits = 0
            for _ in range(repeat):
                t = time.perf_counter()
                hc = cache if cached else None
                hits = len(evaluate_search(cmd.key, snap, mbox.message, header_cache=hc))
                best = min(best, time.perf_counter() - t)
            out[name] = {"seconds": round(best, 4), "hits": hits, "keys": keys.decode()}
        mbox.close()
        return out
    finally:
        if directory is None:
            shutil.rmtree(base, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--messages", type=int, default=10_000)
    p.add_argument("--dir", default=None, help="work directory (default: a temporary one)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    result = run(a.messages, a.dir, a.repeat)
    if a.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{result['messages']} messages, index built in {result['index_build_s']} s")
    for name, _, _ in PROGRAMS:
        r = result[name]
        rate = result["messages"] / r["seconds"] if r["seconds"] else float("inf")
        print(
            f"{name:22} {r['seconds']:8.4f} s  {rate:10.0f} msg/s  {r['hits']:6} hits  {r['keys']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
