"""Large APPENDs through the real server: spooled to disk as they arrive, never held in memory,
byte-identical in the store, and the spool released on success, NO, TOOBIG and disconnects."""

from __future__ import annotations

import base64
import hashlib
import imaplib
import os
import random
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.server import RunningServer, launch, write_config

from .conftest import Raw

MIB = 1024 * 1024
QUOTA_USER = "tight"  # 2 MiB of storage


def _message(size: int, seed: int) -> bytes:
    """A plain-text message of about ``size`` octets: base64 lines of random data, CRLF."""
    rng = random.Random(seed)
    head = b"From: big@example.org\r\nTo: u@example.org\r\nSubject: big %d\r\n\r\n" % seed
    raw = base64.encodebytes(rng.randbytes(size * 3 // 4)).replace(b"\n", b"\r\n")
    return head + raw


@pytest.fixture(scope="module")
def spool_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A fresh server (its memory peak is this module's own) with a small-quota user."""
    base = Path(tmp_path_factory.mktemp("spoolsrv"))
    users = {f"s{i}": f"pw{i}" for i in range(10)} | {QUOTA_USER: "tight-pw"}
    server = write_config(base, {}, users)
    users_file = base / "etc" / "users"
    users_file.write_text(
        users_file.read_text().replace(
            f"{QUOTA_USER}:{{PLAIN}}tight-pw::::::",
            f"{QUOTA_USER}:{{PLAIN}}tight-pw::::::userdb_quota_rule=*:storage=2M",
        )
    )
    launch(server)
    try:
        yield server
    finally:
        server.stop()


_users = iter(range(10))  # one user per test: each sees only its own messages


@pytest.fixture
def user(spool_server: RunningServer) -> tuple[str, str]:
    i = next(_users)
    return f"s{i}", f"pw{i}"


def spool_dir(server: RunningServer) -> str:
    return os.path.join(server.base_dir, "var", "state", "imap-spool")


def spool_fds(server: RunningServer) -> list[str]:
    """The server's open files in the spool directory (spool files have no name: "(deleted)")."""
    assert server.process is not None
    fd_dir = f"/proc/{server.process.pid}/fd"
    prefix = spool_dir(server) + "/"
    found = []
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue  # closed meanwhile
        if target.startswith(prefix):
            found.append(target)
    return found


def wait_for(check: Callable[[], bool], what: str, timeout_s: float = 15.0) -> None:
    """Poll until ``check()`` holds (the server acts on its own schedule), else fail."""
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def assert_no_spool_left(server: RunningServer) -> None:
    wait_for(lambda: not spool_fds(server), f"spool files to close: {spool_fds(server)}")
    assert os.listdir(spool_dir(server)) == []


def _status_kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def login(server: RunningServer, user: tuple[str, str]) -> Raw:
    raw = Raw(server.imap_port)
    raw.login(*user)
    return raw


def _reset_peak(pid: int) -> int:
    """Reset the process's peak RSS to its current RSS (when allowed); return the peak."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass  # without it the peak so far counts too, which only makes the bound easier
    return _status_kib(pid, "VmHWM") * 1024


def _spooled_octets(server: RunningServer) -> int:
    """Octets in the server's one open spool file (stat through /proc works on unlinked files)."""
    assert server.process is not None
    fd_dir = f"/proc/{server.process.pid}/fd"
    prefix = spool_dir(server) + "/"
    for fd in os.listdir(fd_dir):
        path = os.path.join(fd_dir, fd)
        try:
            if os.readlink(path).startswith(prefix):
                return os.stat(path).st_size
        except OSError:
            continue
    return -1


def test_20mb_literal_is_received_without_growing_memory(
    spool_server: RunningServer, user: tuple[str, str]
) -> None:
    """While a 20 MB APPEND literal arrives, the server's peak RSS grows by far less than its
    size: the octets go to a spool file, not into memory (measured before the store runs)."""
    assert spool_server.process is not None
    pid = spool_server.process.pid
    msg = _message(20 * MIB, 1)
    raw = login(spool_server, user)
    before = _reset_peak(pid)
    # All octets, but not the CRLF that ends the command: the store has not started yet.
    raw.send(b"a1 APPEND INBOX {%d+}\r\n" % len(msg) + msg)
    wait_for(lambda: _spooled_octets(spool_server) == len(msg), "the whole literal spooled")
    growth = _status_kib(pid, "VmHWM") * 1024 - before
    assert growth < len(msg) // 2, f"peak RSS grew by {growth} receiving {len(msg)} octets"
    raw.send(b"\r\n")
    assert raw.until(b"a1").startswith(b"a1 OK [APPENDUID ")
    assert_no_spool_left(spool_server)
    raw.close()


def test_20mb_append_by_imaplib_arrives_byte_identical(
    spool_server: RunningServer, user: tuple[str, str]
) -> None:
    """A 20 MB APPEND by imaplib (synchronizing literal) is stored byte for byte (SHA-1 of
    FETCH BODY[]), leaves no spool file behind and costs far less memory than held literals."""
    assert spool_server.process is not None
    pid = spool_server.process.pid
    msg = _message(20 * MIB, 2)
    client = imaplib.IMAP4("127.0.0.1", spool_server.imap_port)
    try:
        client.login(*user)
        before = _reset_peak(pid)
        typ, data = client.append("INBOX", None, None, msg)
        growth = _status_kib(pid, "VmHWM") * 1024 - before
        assert typ == "OK", data
        # Held in memory, the literal cost 4x its size (framer buffer, command bytes, the
        # parsed literal, the store's copy); spooled, what is left is the store's own
        # BODYSTRUCTURE parse, which still reads a big message whole (2x).
        assert growth < 3 * len(msg), f"peak RSS grew by {growth} for a {len(msg)}-octet APPEND"
        assert_no_spool_left(spool_server)
        client.select("INBOX", readonly=True)
        typ, fetched = client.fetch("1", "(BODY.PEEK[])")
        assert typ == "OK"
        body = fetched[0][1]  # type: ignore[index]
        assert len(body) == len(msg)
        assert hashlib.sha1(body).hexdigest() == hashlib.sha1(msg).hexdigest()
        client.logout()
    finally:
        if client.state != "LOGOUT":
            client.shutdown()


def test_spooled_append_over_quota_is_no_and_frees_the_spool(spool_server: RunningServer) -> None:
    """A 3 MB APPEND over a 2 MB quota gets NO [OVERQUOTA]; the spool is gone and the session
    goes on."""
    raw = login(spool_server, (QUOTA_USER, "tight-pw"))
    msg = _message(3 * MIB, 2)
    raw.send(b"a1 APPEND INBOX {%d+}\r\n" % len(msg) + msg)
    wait_for(lambda: _spooled_octets(spool_server) == len(msg), "the literal spooled")
    raw.send(b"\r\n")
    assert raw.until(b"a1").startswith(b"a1 NO [OVERQUOTA] ")
    assert_no_spool_left(spool_server)
    assert raw.cmd(b"a2", b"STATUS INBOX (MESSAGES)") == (
        b"* STATUS INBOX (MESSAGES 0)\r\na2 OK Status completed.\r\n"
    )
    raw.close()


def test_toobig_after_a_spooled_literal_frees_the_spool(
    spool_server: RunningServer, user: tuple[str, str]
) -> None:
    """When a second literal pushes an APPEND past the limit, the answer is NO [TOOBIG] as
    before, the first literal's spool is released and the next command is answered."""
    raw = login(spool_server, user)
    part = _message(2 * MIB, 3)
    raw.send(b"a1 APPEND INBOX {%d+}\r\n" % len(part) + part)
    wait_for(lambda: _spooled_octets(spool_server) == len(part), "the first literal spooled")
    raw.send(b" {60000000}\r\n")
    assert raw.line().startswith(b"a1 NO [TOOBIG] ")
    assert raw.cmd(b"a2", b"NOOP") == b"a2 OK NOOP completed.\r\n"
    assert_no_spool_left(spool_server)
    raw.close()


@pytest.mark.parametrize("synchronizing", [True, False])
def test_disconnect_mid_literal_frees_the_spool(
    spool_server: RunningServer, user: tuple[str, str], synchronizing: bool
) -> None:
    """A client that vanishes halfway through a large literal leaves no spool file open."""
    raw = login(spool_server, user)
    size = 10 * MIB
    if synchronizing:
        raw.send(b"a1 APPEND INBOX {%d}\r\n" % size)
        assert raw.line().startswith(b"+ ")
    else:
        raw.send(b"a1 APPEND INBOX {%d+}\r\n" % size)
    raw.send(b"x" * (4 * MIB))
    # The literal is being spooled (one file, no name), not gathered in memory.
    wait_for(lambda: len(spool_fds(spool_server)) == 1, "the spool file to be open")
    assert spool_fds(spool_server)[0].endswith("(deleted)")
    raw.close()
    assert_no_spool_left(spool_server)
    again = login(spool_server, user)
    assert again.cmd(b"b1", b"STATUS INBOX (MESSAGES)").startswith(b"* STATUS INBOX (MESSAGES 0)")
    again.close()


def test_pipelined_commands_after_a_spooled_literal_answered_in_order(
    spool_server: RunningServer, user: tuple[str, str]
) -> None:
    """Commands pipelined behind a spooled APPEND to the selected mailbox run after it, in
    order, and see the new message."""
    raw = login(spool_server, user)
    assert b"s1 OK [READ-WRITE]" in raw.cmd(b"s1", b"SELECT INBOX")
    big = _message(3 * MIB, 4)
    small = b"Subject: small\r\n\r\nhi\r\n"
    raw.send(
        b"a1 APPEND INBOX {%d+}\r\n" % len(big)
        + big
        + b"\r\na2 NOOP\r\na3 FETCH 1 (RFC822.SIZE)\r\n"
        + b"a4 APPEND INBOX (\\Seen) {%d+}\r\n" % len(small)
        + small
        + b"\r\na5 UID FETCH 1:* (RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\n"
    )
    replies = [raw.until(b"a%d" % i) for i in range(1, 6)]
    assert replies[0].startswith(b"* 1 EXISTS\r\n")
    assert b"a1 OK [APPENDUID " in replies[0]
    assert replies[1].endswith(b"a2 OK NOOP completed.\r\n")
    assert b"* 1 FETCH (RFC822.SIZE %d)\r\n" % len(big) in replies[2]
    assert b"* 2 EXISTS\r\n" in replies[3] and b"a4 OK [APPENDUID " in replies[3]
    assert b"Subject: big 4" in replies[4] and b"RFC822.SIZE %d " % len(big) in replies[4]
    assert b"Subject: small" in replies[4] and replies[4].endswith(b"a5 OK Fetch completed.\r\n")
    assert_no_spool_left(spool_server)
    raw.close()


def test_spooled_append_under_compress_deflate(
    spool_server: RunningServer, user: tuple[str, str]
) -> None:
    """With COMPRESS=DEFLATE active, a large APPEND is spooled and stored byte for byte."""
    raw = login(spool_server, user)
    assert raw.cmd(b"z1", b"COMPRESS DEFLATE") == b"z1 OK DEFLATE active\r\n"
    out = zlib.compressobj(6, zlib.DEFLATED, -15)
    inp = zlib.decompressobj(-15)
    msg = _message(3 * MIB, 5)
    digest = hashlib.sha1(msg).hexdigest()
    wire = b"z2 APPEND INBOX {%d+}\r\n" % len(msg) + msg + b"\r\nz3 EXAMINE INBOX\r\n"
    wire += b"z4 FETCH 1 BODY.PEEK[]\r\n"
    raw.send(out.compress(wire) + out.flush(zlib.Z_SYNC_FLUSH))
    text = inp.decompress(raw.buf)
    raw.buf = b""
    while b"\r\nz4 " not in text:
        chunk = raw.sock.recv(65536)
        assert chunk, "connection closed"
        text += inp.decompress(chunk)
    assert b"z2 OK [APPENDUID " in text
    head = b"* 1 FETCH (BODY[] {%d}\r\n" % len(msg)
    start = text.index(head) + len(head)
    assert hashlib.sha1(text[start : start + len(msg)]).hexdigest() == digest
    assert_no_spool_left(spool_server)
    raw.close()


def test_append_pipelined_after_compress_is_dropped_with_its_spool(
    spool_server: RunningServer, user: tuple[str, str]
) -> None:
    """A large APPEND pipelined in plaintext behind COMPRESS is never run (RFC 4978 3) and its
    spool, complete or half-read, is released."""
    raw = login(spool_server, user)
    part = _message(2 * MIB, 6)
    raw.send(b"z1 COMPRESS DEFLATE\r\na1 APPEND INBOX {%d+}\r\n" % len(part) + part + b"\r\n")
    assert raw.line() == b"z1 OK DEFLATE active\r\n"
    assert_no_spool_left(spool_server)
    raw.close()
    again = login(spool_server, user)
    assert again.cmd(b"b1", b"STATUS INBOX (MESSAGES)").startswith(b"* STATUS INBOX (MESSAGES 0)")
    again.close()
