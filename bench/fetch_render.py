"""Micro benchmark: cached ENVELOPE/BODYSTRUCTURE, decoded from the cache and rendered.

    .venv/bin/python -m bench.fetch_render [--messages N] [--rounds R] [--json]

The messages are the seeded corpus (``bench.seed``, the ``Medium`` folder of
the quick profile: plain text, HTML alternatives, attachments). Each figure
is CPU microseconds per message (``time.process_time``, best of ``--rounds``,
so a busy machine disturbs it less), for ENVELOPE and BODYSTRUCTURE together:

* ``decode_json``: ``from_json`` of both cached blobs (format 1, what the store reads today);
* ``decode_blob``: ``from_blob`` of both (format 2);
* ``render``: rendering freshly decoded objects (``render_envelope``, ``render_body``);
* ``render_again``: rendering the same objects a second time (the memo);
* ``json_path`` / ``blob_path``: decode and render, as a cached FETCH does per message;
* ``fetch_lines``: ``* n FETCH (ENVELOPE ... BODYSTRUCTURE ...)`` lines from a real
  Maildir store (its index and cache filled first), the handler's batch code,
  which decodes with what the store calls today.

``--tree DIR`` measures the ``mailsuite`` package under DIR instead (e.g. an
older commit from ``git archive``) for "before" figures; figures that tree
cannot give (no ``from_blob``) are left out.

``--server`` measures the real thing instead: a mailsuite server (the bench
config, on the quick template under ``--workdir``) answers ``FETCH 1:*
(ENVELOPE BODYSTRUCTURE)`` on ``user00``'s ``Big`` folder (5,000 messages)
once to fill its cache, then ``--rounds`` times; the figure is the server's
CPU (user + system of the twistd process, from ``/proc``) per message, best
and median, which a busy machine disturbs far less than wall time. With
``--tree DIR`` the server runs DIR's code. ``--items`` fetches other items
(``"UID FLAGS"``, what every client asks on opening a mailbox).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.seed import DEFAULT_WORKDIR, QUICK, _vocabulary, generate_message

__all__ = ["corpus", "main", "measure"]


def corpus(n: int, seed: int = QUICK.seed) -> list[bytes]:
    """The first ``n`` messages of the quick profile's ``Medium`` folder, as seeded."""
    vocab = _vocabulary(seed)
    rng = random.Random(f"{seed}:user01:Medium")
    start = datetime(2025, 1, 1, 8, 0, tzinfo=UTC)
    return [generate_message(rng, vocab, i, start + i * timedelta(minutes=1))[0] for i in range(n)]


def _best(rounds: int, n: int, setup: Callable[[], Any], run: Callable[[Any], object]) -> float:
    """CPU microseconds per message of ``run(setup())``, best of ``rounds`` (setup not timed)."""
    best = float("inf")
    for _ in range(rounds):
        arg = setup()
        t = time.process_time()
        run(arg)
        best = min(best, time.process_time() - t)
    return best * 1e6 / n


def _fetch_lines(messages: list[bytes], rounds: int) -> float | None:
    from mailsuite.protocols.imap.commands import FetchAttr
    from mailsuite.protocols.imap.handlers import fetch
    from mailsuite.store.maildir import open_user_store

    render_batch: Any = getattr(fetch, "_render_batch", None)
    if render_batch is None:
        return None
    base = tempfile.mkdtemp(prefix="mailsuite-bench-fetch-")
    try:
        store = open_user_store(os.path.join(base, "u"), user="bench", fsync=False)
        box = store.open_mailbox("INBOX")
        for data in messages:
            box.append(data)
        recs = box.snapshot().messages
        attrs = (FetchAttr("ENVELOPE"), FetchAttr("BODYSTRUCTURE"))
        jobs = [(i + 1, r, r.flags, False, False, False) for i, r in enumerate(recs)]
        step = getattr(fetch, "CACHED_BATCH", 512)

        def run(_: object) -> None:
            for i in range(0, len(jobs), step):
                render_batch(box, jobs[i : i + step], attrs)

        run(None)  # fills the cache
        figure = _best(rounds, len(jobs), lambda: None, run)
        box.close()
        return figure
    finally:
        shutil.rmtree(base, ignore_errors=True)


def measure(n: int = 1000, rounds: int = 5) -> dict[str, float]:
    """Every figure of the module docstring for ``n`` messages."""
    from mailsuite.message import BodyStructure, Envelope, Message
    from mailsuite.protocols.imap.wire.fetchrender import render_body, render_envelope

    messages = corpus(n)
    parsed = [Message.from_bytes(m) for m in messages]
    envs = [m.envelope() for m in parsed]
    bodies = [m.bodystructure() for m in parsed]
    pairs_json = [(e.to_json(), b.to_json()) for e, b in zip(envs, bodies, strict=True)]
    out: dict[str, float] = {"messages": n}

    def decode_json() -> list[tuple[Envelope, BodyStructure]]:
        return [(Envelope.from_json(e), BodyStructure.from_json(b)) for e, b in pairs_json]

    def render(objs: list[tuple[Envelope, BodyStructure]]) -> None:
        for e, b in objs:
            render_envelope(e)
            render_body(b)

    out["decode_json"] = _best(rounds, n, lambda: None, lambda _: decode_json())
    out["render"] = _best(rounds, n, decode_json, render)
    done = decode_json()
    render(done)
    out["render_again"] = _best(rounds, n, lambda: done, render)
    out["json_path"] = _best(rounds, n, lambda: None, lambda _: render(decode_json()))
    if hasattr(Envelope, "to_blob"):
        pairs_blob = [(e.to_blob(), b.to_blob()) for e, b in zip(envs, bodies, strict=True)]

        def decode_blob() -> list[tuple[Envelope, BodyStructure]]:
            return [(Envelope.from_blob(e), BodyStructure.from_blob(b)) for e, b in pairs_blob]

        out["decode_blob"] = _best(rounds, n, lambda: None, lambda _: decode_blob())
        out["blob_path"] = _best(rounds, n, lambda: None, lambda _: render(decode_blob()))
        out["blob_bytes"] = sum(len(e) + len(b) for e, b in pairs_blob) / n
    out["json_bytes"] = sum(len(e) + len(b) for e, b in pairs_json) / n
    lines = _fetch_lines(messages, rounds)
    if lines is not None:
        out["fetch_lines"] = lines
    return out


#: FETCH commands per ``--server`` figure.
SERVER_REPEAT = 5


def _cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _server_round(
    port: int, pid: int, password: str, rounds: int, items: str
) -> tuple[int, list[float]]:
    from bench.client.imap import ImapClient

    c = await ImapClient.connect(port)
    try:
        await c.login("user00", password)
        await c.select("Big")
        line = f"FETCH 1:* ({items})"
        first = await c.command(line)  # fills the cache
        count = len(first.fetches())
        per_msg = []
        for _ in range(rounds):
            # Several commands per figure: /proc counts CPU in clock ticks (10 ms).
            before = _cpu_s(pid)
            answered = 0
            for _ in range(SERVER_REPEAT):
                answered += len((await c.command(line)).fetches())
            per_msg.append((_cpu_s(pid) - before) * 1e6 / max(1, answered))
        await c.logout()
    finally:
        await c.close()
    return count, per_msg


def measure_server(
    workdir: str, tree: str, rounds: int, items: str = "ENVELOPE BODYSTRUCTURE"
) -> dict[str, float]:
    """Server CPU microseconds per message of a cached ``FETCH 1:* (items)``."""
    import asyncio
    import statistics

    from bench.seed import load_or_seed
    from bench.servers.mailsuite_server import Mailsuite, start_from_tree

    template, manifest = load_or_seed(workdir, QUICK)
    rundir = tempfile.mkdtemp(prefix="fetch-render-", dir="/var/tmp")
    server = Mailsuite(rundir)
    server.prepare(template, manifest)
    start_from_tree(server, tree)
    try:
        assert server.proc is not None
        count, per_msg = asyncio.run(
            _server_round(
                server.ports["imap"], server.proc.pid, manifest.passwords["user00"], rounds, items
            )
        )
    finally:
        server.stop()
        shutil.rmtree(rundir, ignore_errors=True)
    return {
        "messages": count,
        "server_cpu_best": min(per_msg),
        "server_cpu_median": statistics.median(per_msg),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--tree", default="", help="measure the mailsuite package under this dir")
    ap.add_argument("--server", action="store_true", help="measure a running server's CPU")
    ap.add_argument("--workdir", default=DEFAULT_WORKDIR, help="seeded template (--server)")
    ap.add_argument("--items", default="ENVELOPE BODYSTRUCTURE", help="FETCH items (--server)")
    args = ap.parse_args(argv)
    if args.server:
        figures = measure_server(args.workdir, args.tree, args.rounds, args.items)
    else:
        if args.tree:
            sys.path.insert(0, os.path.abspath(args.tree))
        figures = measure(args.messages, args.rounds)
        import mailsuite

        print(f"# mailsuite from {os.path.dirname(mailsuite.__file__)}", file=sys.stderr)
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    for key, value in figures.items():
        unit = "" if key == "messages" else (" B/msg" if key.endswith("bytes") else " us/msg")
        print(f"{key:>14}: {value:9.2f}{unit}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
