"""SEARCH evaluator benchmark: flag, header and body searches over one big Maildir.

    .venv/bin/python -m bench.imap_search [--messages N] [--dir PATH] [--repeat R] [--json]
                                           [--dovecot]

Generates the mailbox with :func:`bench.store_index.generate` (seeded, 10,000
messages by default), builds the store's index once, then times
:func:`mailsuite.protocols.imap.search.evaluate_search` directly (no socket,
no session) for each program, best of ``--repeat`` runs. The files are in the
page cache after the first run, so the figures are CPU cost, not disk seeks.
The first cached run fills the store's header cache when the index build has
not already (the best-of figure is the warm one).

``--dovecot`` (root, dovecot-core installed) also times ``doveadm search`` on
a copy of the same Maildir with a persistent index, after one warming run;
its figures include starting the doveadm process (``dovecot_startup`` is a
search that touches no message, for scale).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
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


DOVECOT_CONF = """\
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/log
mail_location = maildir:{base}/mail:INDEX={base}/index
ssl = no
mail_uid = nobody
mail_gid = nogroup
first_valid_uid = 0
first_valid_gid = 0
userdb {{
  driver = static
  args = home={base}/mail
}}
passdb {{
  driver = static
  args = password=unused
}}
"""


def dovecot_times(root: str, repeat: int) -> dict[str, Any]:
    """``doveadm search`` times on a copy of ``root`` (best of ``repeat`` after a warm-up)."""
    doveadm = shutil.which("doveadm")
    if doveadm is None or os.geteuid() != 0:
        return {"skipped": "needs root and doveadm (dovecot-core)"}
    base = tempfile.mkdtemp(prefix="mailsuite-search-dovecot-")
    try:
        for d in ("run", "state", "index"):
            os.mkdir(os.path.join(base, d))
        shutil.copytree(root, os.path.join(base, "mail"))
        with open(os.path.join(base, "dovecot.conf"), "w") as f:
            f.write(DOVECOT_CONF.format(base=base))
        os.chmod(base, 0o755)
        subprocess.run(["chown", "-R", "nobody:nogroup", base], check=True)
        env = {**os.environ, "USER": "bench", "HOME": os.path.join(base, "mail")}
        out: dict[str, Any] = {}
        programs = [("dovecot_startup", b"UID 1", False)] + PROGRAMS
        for name, keys, _ in programs:
            if name.endswith("_files"):
                continue  # Dovecot always has its cache: compare with our "_cache" runs
            argv = [doveadm, "-c", f"{base}/dovecot.conf", "search", "mailbox", "INBOX"]
            argv += _dovecot_args(keys)
            best = float("inf")
            hits = 0
            for i in range(repeat + 1):
                t = time.perf_counter()
                res = subprocess.run(argv, env=env, capture_output=True, check=True, timeout=600)
                if i:  # the first run builds Dovecot's index and cache
                    best = min(best, time.perf_counter() - t)
                hits = len(res.stdout.splitlines())
            out[name] = {"seconds": round(best, 4), "hits": hits}
        return out
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _dovecot_args(keys: bytes) -> list[str]:
    """Our flat programs as doveadm words (quoted strings kept whole)."""
    import shlex

    return shlex.split(keys.decode())


def run(n: int, directory: str | None, repeat: int, dovecot: bool = False) -> dict[str, Any]:
    base = directory or tempfile.mkdtemp(prefix="mailsuite-search-bench-")
    root = f"{base}/alice"
    try:
        generate(root, n)
        t0 = time.perf_counter()
        store = open_user_store(root, user="alice", fsync=False)
        mbox = store.open_mailbox("INBOX")
        snap = mbox.snapshot()
        out: dict[str, Any] = {"messages": len(snap.messages)}
        out["open_and_index_s"] = round(time.perf_counter() - t0, 3)
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
        if dovecot:
            out["dovecot"] = dovecot_times(root, repeat)
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
    p.add_argument("--dovecot", action="store_true", help="also time doveadm search")
    a = p.parse_args(argv)
    result = run(a.messages, a.dir, a.repeat, a.dovecot)
    if a.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{result['messages']} messages, opened and indexed in {result['open_and_index_s']} s")
    dove = result.get("dovecot", {})
    if "skipped" in dove:
        print(f"dovecot: {dove['skipped']}")
    elif dove:
        print(f"dovecot: a doveadm search of one UID takes {dove['dovecot_startup']['seconds']} s")
    head = f"{'program':22} {'seconds':>8}   {'msg/s':>9}  {'hits':>6}"
    print(head + (f"  {'dovecot s':>9} {'hits':>6}" if dove and "skipped" not in dove else ""))
    for name, keys, _ in PROGRAMS:
        r = result[name]
        rate = result["messages"] / r["seconds"] if r["seconds"] else float("inf")
        line = f"{name:22} {r['seconds']:8.4f}   {rate:9.0f}  {r['hits']:6}"
        if name in dove:
            line += f"  {dove[name]['seconds']:9.4f} {dove[name]['hits']:6}"
        print(f"{line:70}  {keys.decode()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
