"""``python -m bench.servers.pair LOG1 CMD1... -- LOG2 CMD2...``: two servers as one.

A server under test that is really two processes (a front end and its
backend) is run under this small parent, so the harness still starts, stops
and measures one process tree: SIGTERM reaches both, and when either exits
the other is stopped and the parent exits with the first one's status.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

__all__ = ["main"]


def main(argv: list[str]) -> int:
    if "--" not in argv:
        print("usage: python -m bench.servers.pair LOG1 CMD1... -- LOG2 CMD2...", file=sys.stderr)
        return 2
    cut = argv.index("--")
    specs = [argv[:cut], argv[cut + 1 :]]
    procs = []
    for spec in specs:
        with open(spec[0], "ab") as log:
            procs.append(
                subprocess.Popen(spec[1:], stdin=subprocess.DEVNULL, stdout=log, stderr=log)
            )
        time.sleep(0.5)  # the backend first, so the front end finds it

    stopping = []

    def stop(signum: int, frame: object) -> None:
        stopping.append(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    status = 0
    while not stopping:
        dead = [p for p in procs if p.poll() is not None]
        if dead:
            status = dead[0].returncode or 1
            break
        time.sleep(0.1)
    for p in reversed(procs):  # the front end first
        if p.poll() is None:
            p.terminate()
    for p in reversed(procs):
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
