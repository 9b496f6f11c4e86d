"""Malformed mail never raises: truncated and mutated corpus messages still parse consistently."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest

from mailsuite.message import BodyStructure, Envelope, Message
from tests.message.test_corpus import FILES, part_paths

MULTIPART = [p for p in FILES if b"multipart" in p.read_bytes().lower()]


def exercise(raw: bytes) -> None:
    """Call every public method and check the invariants that must survive any input."""
    msg = Message.from_bytes(raw)
    env = msg.envelope()
    bs = msg.bodystructure()
    full = msg.full_bytes()
    assert msg.rfc822_size() == len(full)
    assert msg.header_bytes() + msg.text_bytes() == full
    # the header found by reading only the start of a file is the same header
    assert Message.from_file(io.BytesIO(raw)).header_bytes() == msg.header_bytes()
    assert Envelope.from_json(env.to_json()) == env
    assert BodyStructure.from_json(bs.to_json()) == bs
    for part, sub in part_paths(bs):
        body = msg.section(part)
        if body is not None and not sub.is_multipart:
            assert sub.size == len(body)
        for kind in ("MIME", "HEADER", "TEXT", "HEADER.FIELDS", "HEADER.FIELDS.NOT"):
            msg.section(part, kind, ("subject", "content-type"))
    list(msg.text_parts())
    for name in msg.header_names()[:5]:
        msg.header_values(name)
        msg.raw_header_values(name)


@pytest.mark.parametrize("path", MULTIPART[:12], ids=lambda p: p.name)
def test_every_truncation(path: Path) -> None:
    """A multipart message cut off anywhere (150 evenly spread points) still parses consistently."""
    raw = path.read_bytes()
    for cut in range(0, len(raw), max(7, len(raw) // 150)):
        exercise(raw[:cut])


def test_random_mutations() -> None:
    """Random byte changes, NULs, stray boundaries and 8-bit junk never raise (seeded)."""
    rng = random.Random(20261123)
    junk = [
        b"\x00",
        b"\r",
        b"\n",
        b"--",
        b"\xff",
        b"=?",
        b"?=",
        b'"',
        b"(",
        b"<",
        b";",
        b":",
        b"\n\n",
    ]
    sources = [p.read_bytes() for p in MULTIPART]
    for _ in range(300):
        raw = bytearray(rng.choice(sources))
        for _ in range(rng.randint(1, 8)):
            pos = rng.randrange(len(raw) + 1)
            if rng.random() < 0.5:
                raw[pos:pos] = rng.choice(junk)
            elif raw:
                del raw[pos : pos + rng.randint(1, 40)]
        exercise(bytes(raw))
