"""A private PostgreSQL 15 server for tests: initdb in a temp dir, loopback only, free port.

Runs as the ``postgres`` system user when the tests run as root (PostgreSQL
refuses to run as root), otherwise as the current user.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["PG_BIN", "pg_missing_reason", "private_postgres"]

PG_BIN = "/usr/lib/postgresql/15/bin"


def pg_missing_reason() -> str | None:
    """Why a private server cannot run here, or None when it can."""
    if not os.path.exists(os.path.join(PG_BIN, "initdb")):
        return f"PostgreSQL 15 not installed ({PG_BIN}/initdb missing)"
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        return "psycopg2 not installed"
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and no 'postgres' user to run the server as"
        if not shutil.which("runuser"):
            return "running as root and no runuser to drop privileges"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def private_postgres() -> Iterator[str]:
    """Start a server; yield a libpq DSN for database ``mail`` as superuser ``mailtest``."""
    root = os.geteuid() == 0
    base = tempfile.mkdtemp(prefix="mailsuite-pg-")
    data = os.path.join(base, "data")
    prefix: list[str] = []
    if root:
        import pwd

        pw = pwd.getpwnam("postgres")
        os.chown(base, pw.pw_uid, pw.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    run = lambda *cmd: subprocess.run(  # noqa: E731
        prefix + list(cmd), check=True, capture_output=True, text=True, cwd=base
    )
    try:
        run(f"{PG_BIN}/initdb", "-D", data, "-U", "mailtest", "-A", "trust", "--no-sync")
        run(
            f"{PG_BIN}/pg_ctl",
            "-D",
            data,
            "-l",
            os.path.join(base, "log"),
            "-w",
            "-t",
            "60",
            "-o",
            f"-h 127.0.0.1 -p {port} -k {base} -F",
            "start",
        )
        dsn = f"host=127.0.0.1 port={port} user=mailtest dbname=postgres connect_timeout=5"
        import psycopg2

        deadline = time.monotonic() + 30
        while True:
            try:
                conn = psycopg2.connect(dsn)
                break
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        conn.autocommit = True
        conn.cursor().execute("CREATE DATABASE mail")
        conn.close()
        yield dsn.replace("dbname=postgres", "dbname=mail")
    finally:
        subprocess.run(
            prefix + [f"{PG_BIN}/pg_ctl", "-D", data, "-m", "immediate", "stop"],
            capture_output=True,
            cwd=base,
        )
        shutil.rmtree(base, ignore_errors=True)
