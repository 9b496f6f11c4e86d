"""Invariants over the MIME corpus (CPython's test_email messages and our malformed ones)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mailsuite.message import BodyStructure, Envelope, Message, to_crlf
from mailsuite.message.mime import parse_tree

CORPUS = Path(__file__).with_name("corpus")
FILES = sorted(p for p in CORPUS.iterdir() if p.suffix in (".txt", ".eml"))


def part_paths(
    bs: BodyStructure, prefix: tuple[int, ...] = ()
) -> Iterator[tuple[tuple[int, ...], BodyStructure]]:
    """Every numbered part with its structure, as RFC 3501 6.4.5 numbers them."""
    if bs.is_multipart:
        for i, child in enumerate(bs.parts, 1):
            path = (*prefix, i)
            yield path, child
            yield from _inside(child, path)
    else:
        path = (*prefix, 1)
        yield path, bs
        yield from _inside(bs, path)


def _inside(
    bs: BodyStructure, path: tuple[int, ...]
) -> Iterator[tuple[tuple[int, ...], BodyStructure]]:
    if bs.is_multipart:
        yield from _children(bs, path)
    elif bs.is_message:
        assert bs.body is not None
        yield from part_paths(bs.body, path)


def _children(
    bs: BodyStructure, path: tuple[int, ...]
) -> Iterator[tuple[tuple[int, ...], BodyStructure]]:
    for i, child in enumerate(bs.parts, 1):
        sub = (*path, i)
        yield sub, child
        yield from _inside(child, sub)


def test_corpus_is_there() -> None:
    """The corpus holds the CPython messages and our malformed ones."""
    assert len([p for p in FILES if p.name.startswith("msg_")]) >= 40
    assert len([p for p in FILES if p.name.startswith("bad_")]) >= 15


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_corpus_invariants(path: Path) -> None:
    """Each message parses, sizes agree, sections fit together, the cache form round-trips."""
    raw = path.read_bytes()
    msg = Message.from_path(str(path))
    env = msg.envelope()
    bs = msg.bodystructure()
    full = msg.full_bytes()
    assert full == to_crlf(raw)
    assert Message.from_path(str(path)).rfc822_size() == len(full) == msg.rfc822_size()
    assert msg.header_bytes() + msg.text_bytes() == full
    # the header found from the first reads, from memory and by the MIME walk agree
    assert (
        Message.from_path(str(path)).header_bytes()
        == Message.from_bytes(raw).header_bytes()
        == parse_tree(full).mime_header()
    )
    assert msg.section(()) == full
    assert msg.section((), "HEADER") + msg.section((), "TEXT") == full  # type: ignore[operator]
    assert Envelope.from_json(env.to_json()) == env
    assert BodyStructure.from_json(bs.to_json()) == bs
    for part, sub in part_paths(bs):
        body = msg.section(part)
        mime = msg.section(part, "MIME")
        if body is None:  # the stand-in empty part of a multipart without parts
            assert sub.size == 0
            continue
        assert mime is not None
        # a part's MIME header and body are contiguous bytes of the message
        assert mime + body in full
        if not sub.is_multipart:
            assert sub.size == len(body), part
        if sub.lines is not None:
            assert sub.lines == body.count(b"\n"), part
        if sub.is_message:
            header = msg.section(part, "HEADER")
            text = msg.section(part, "TEXT")
            assert header is not None and text is not None
            # equal, but for a header-only message part: its header gives up the
            # CRLF before the next delimiter, the part keeps it (as Dovecot)
            assert body in (header + text, header + text + b"\r\n")
    list(msg.text_parts())
    for name in msg.header_names():
        assert msg.header_values(name)
