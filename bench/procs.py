"""Processes and ports: free loopback ports, process trees, memory sampling.

Memory is read from ``/proc`` (Linux) and summed over a server's whole process
tree, because Dovecot runs one process per login and per session while pymap
and mailsuite run one. Two sums are kept: RSS, which counts shared pages
(libraries, shared mappings) once per process and so overstates a
multi-process server, and PSS (``smaps_rollup``), which splits each shared page
between the processes sharing it and is the fair per-server total.
"""

from __future__ import annotations

import os
import socket
import threading
import time

__all__ = [
    "RssSampler",
    "free_port",
    "process_tree",
    "tree_pss_bytes",
    "tree_rss_bytes",
    "wait_for_greeting",
]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` (a loopback address) that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name may contain spaces and parentheses: split after the last ')'.
        fields = stat[stat.rfind(b")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(entry))
    return children


def process_tree(root_pid: int) -> list[int]:
    """``root_pid`` and all its descendants."""
    children = _children_map()
    out, todo = [], [root_pid]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, ()))
    return out


def _rss_of(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _pss_of(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return _rss_of(pid)  # no smaps_rollup (old kernel): RSS is the best we have


def tree_rss_bytes(root_pid: int) -> int:
    """Resident memory of the process tree rooted at ``root_pid``, in bytes."""
    return sum(_rss_of(p) for p in process_tree(root_pid))


def tree_pss_bytes(root_pid: int) -> int:
    """Proportional set size of the process tree rooted at ``root_pid``, in bytes."""
    return sum(_pss_of(p) for p in process_tree(root_pid))


class RssSampler:
    """Samples a process tree's RSS and PSS in a thread and keeps the peaks.

    A thread, not the event loop, so sampling goes on while the load
    generator keeps the loop busy.
    """

    def __init__(self, root_pid: int, interval_s: float = 0.25) -> None:
        self.root_pid = root_pid
        self.interval_s = interval_s
        self.peak_bytes = 0
        self.peak_pss_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def start(self) -> RssSampler:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval_s)

    def _sample(self) -> None:
        self.peak_bytes = max(self.peak_bytes, tree_rss_bytes(self.root_pid))
        self.peak_pss_bytes = max(self.peak_pss_bytes, tree_pss_bytes(self.root_pid))

    def stop(self) -> int:
        """Stop sampling; returns the RSS peak in bytes (``peak_pss_bytes`` has PSS)."""
        self._stop.set()
        self._thread.join()
        self._sample()
        return self.peak_bytes


def wait_for_greeting(port: int, prefix: bytes, timeout_s: float) -> bytes | None:
    """Connect to 127.0.0.1:port until a greeting starting with ``prefix`` arrives.

    Returns:
        The greeting line, or None when nothing answered in time.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                line = s.makefile("rb").readline()
                if line.startswith(prefix):
                    return line
        except OSError:
            pass
        time.sleep(0.1)
    return None
