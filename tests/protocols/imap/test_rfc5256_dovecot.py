"""SORT and THREAD agree with Dovecot 2.3 answer for answer on the same Maildir.

A seeded mailbox with hostile threading (duplicate and missing Message-IDs,
references to messages that do not exist or come later, loops, "[fwd: ...]"
and "(fwd)" subjects, missing Date: fields) is opened by our store first, so
it writes the ``dovecot-uidlist``; a copy then goes to Dovecot's own ``imap``
binary in PREAUTH mode on stdin/stdout (no daemon, no network), so both
number the messages the same way. Subjects and names are ASCII: Dovecot
collates with i;unicode-casemap (I18NLEVEL=1), which equals i;ascii-casemap
there.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailsuite.protocols.imap.sort import sort_uids
from mailsuite.protocols.imap.thread import fields_loader, thread_uids
from mailsuite.protocols.imap.wire.thread_render import sort_response, thread_response
from mailsuite.store.maildir import open_user_store

DOVECOT_IMAP = "/usr/lib/dovecot/imap"
COMMANDS = [
    "SORT (ARRIVAL)",
    "SORT (SUBJECT)",
    "SORT (DATE)",
    "SORT (REVERSE DATE)",
    "SORT (FROM)",
    "SORT (REVERSE SIZE)",
    "SORT (REVERSE SUBJECT DATE)",
    "SORT (DISPLAYFROM)",
    "SORT (TO CC)",
    "THREAD ORDEREDSUBJECT",
    "THREAD REFERENCES",
]

pytestmark = pytest.mark.skipif(
    not os.path.exists(DOVECOT_IMAP), reason="Dovecot not installed (./dev test installs it)"
)


def generate(root: Path, n: int, seed: int) -> None:
    rng = random.Random(seed)
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True)
    ids: list[str] = []
    for i in range(n):
        mid = rng.choice(ids) if ids and rng.random() < 0.05 else f"<{i}@x>"
        ids.append(mid)
        refs = [f"<{rng.randrange(n + 50)}@x>" for _ in range(rng.randrange(4))]
        subject = rng.choice(["", "Re: ", "Fwd: ", "[l] ", "Re: [l] ", "RE: re: "])
        subject += rng.choice(["alpha", "beta", "gamma", "delta"]) + rng.choice(["", " (fwd)"])
        if rng.random() < 0.1:
            subject = rng.choice(["[Fwd: ", "[fwd: Re: ", "Re: [FWD: "]) + subject + "]"
        head = "" if rng.random() < 0.05 else f"Message-ID: {mid}\n"
        head += f"Subject: {subject}\n"
        if rng.random() < 0.9:
            zone = rng.choice(["+0000", "-0500", "+0200"])
            head += f"Date: Tue, 0{rng.randint(1, 5)} Nov 2023 {rng.randint(0, 23):02d}:"
            head += f"{rng.randint(0, 59):02d}:00 {zone}\n"
        sender = rng.choice(["a@x", "B@y", "Zed <c@z>", "=?utf-8?q?Ann?= <d@w>", ""])
        if sender:
            head += f"From: {sender}\n"
        head += rng.choice(["", "To: t@x\n", "To: Sam <S@y>\nCc: q@q\n"])
        if refs and rng.random() < 0.7:
            head += f"References: {' '.join(refs)}\n"
        if rng.random() < 0.2:
            head += f"In-Reply-To: <{rng.randrange(n)}@x>\n"
        path = root / "cur" / f"{1700000000 + i}.M{i}P1.host:2,"
        path.write_bytes((head + "\n" + "x" * rng.randrange(300) + "\n").encode())
        stamp = 1700000000 + rng.randrange(n)
        os.utime(path, (stamp, stamp))


@pytest.fixture
def workdir() -> Iterator[Path]:
    # Dovecot drops root privileges to "nobody", who must reach the files: not under
    # pytest's 0700 tmp_path.
    path = Path(tempfile.mkdtemp(prefix="rfc5256-"))
    os.chmod(path, 0o755)
    yield path
    if not os.environ.get("KEEP_RFC5256"):
        shutil.rmtree(path, ignore_errors=True)


def dovecot_answers(base: Path, maildir: Path) -> list[bytes]:
    for sub in ("run", "state", "index"):
        (base / sub).mkdir(parents=True)
    config = [
        f"mail_location = maildir:{maildir}:INDEX={base}/index",
        f"base_dir = {base}/run",
        f"state_dir = {base}/state",
        f"log_path = {base}/log",
        "ssl = no",
    ]
    user = "nobody"
    if os.getuid() == 0:
        # Dovecot refuses mail access as root.
        config += ["mail_uid = nobody", "mail_gid = nogroup", "first_valid_uid = 1"]
        config += ["first_valid_gid = 1"]
        subprocess.run(["chown", "-R", "nobody:nogroup", str(base), str(maildir)], check=True)
    else:
        import pwd

        user = pwd.getpwuid(os.getuid()).pw_name
    (base / "dovecot.conf").write_text("\n".join(config) + "\n")
    script = "a SELECT INBOX\r\n"
    script += "".join(f"t{i} {c} UTF-8 ALL\r\n" for i, c in enumerate(COMMANDS))
    script += "z LOGOUT\r\n"
    done = subprocess.run(
        [DOVECOT_IMAP, "-c", str(base / "dovecot.conf")],
        input=script.encode(),
        capture_output=True,
        env={"USER": user, "HOME": str(base), "PATH": os.environ.get("PATH", "")},
        timeout=60,
        check=False,
    )
    lines = [
        line + b"\r\n"
        for line in done.stdout.split(b"\r\n")
        if line.startswith((b"* SORT", b"* THREAD"))
    ]
    assert len(lines) == len(COMMANDS), done.stdout[-2000:] + done.stderr[-2000:]
    return lines


@pytest.mark.parametrize("seed", [1, 2])
def test_same_answers_as_dovecot(workdir: Path, seed: int) -> None:
    """Every SORT key and both THREAD algorithms give Dovecot's exact response line."""
    ours = workdir / "ours"
    generate(ours, 600, seed)
    box = open_user_store(str(ours), user="u", fsync=False).open_mailbox("INBOX")
    try:
        snap = box.snapshot()  # assigns UIDs and writes dovecot-uidlist
        shutil.copytree(ours, workdir / "theirs")
        expected = dovecot_answers(workdir / "dv", workdir / "theirs")
        uids = [m.uid for m in snap.messages]
        seq = {u: i + 1 for i, u in enumerate(uids)}
        for command, want in zip(COMMANDS, expected, strict=True):
            verb, arg = command.split(" ", 1)
            if verb == "SORT":
                words = arg.strip("()").split()
                criteria = []
                reverse = False
                for w in words:
                    if w == "REVERSE":
                        reverse = True
                        continue
                    criteria.append((w, reverse))
                    reverse = False
                got = sort_response([seq[u] for u in sort_uids(criteria, uids, snap, box.envelope)])
            else:
                threads = thread_uids(arg, uids, snap, fields_loader(box))
                got = thread_response(threads, seq.__getitem__)
            assert got == want, command
    finally:
        box.close()
