"""One pass over a message: SHA-1, CRLF size, header block, cached header fields."""

from __future__ import annotations

import hashlib
import json

import pytest

from mailsuite.store.maildir.facts import FactsBuilder, header_blob

DATA = b"Subject: a\r\nTo: b\n\nline one\r\nline two\nend"


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 1000])
def test_sizes_and_hash_do_not_depend_on_chunking(chunk: int) -> None:
    """Fed in any chunk size (a CR at a chunk's end included) the results are the same."""
    b = FactsBuilder()
    for i in range(0, len(DATA), chunk):
        b.feed(DATA[i : i + chunk])
    f = b.result()
    assert f.sha1 == hashlib.sha1(DATA).hexdigest()
    assert f.psize == len(DATA)
    assert f.vsize == len(DATA.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    assert f.header == b"Subject: a\r\nTo: b\n\n"


def test_header_blob_unfolds_and_keeps_every_occurrence() -> None:
    """Folded values are joined, repeated fields all kept, other fields left out."""
    blob = header_blob(b"To: a\r\n  b\r\nX-Other: no\r\nTo: c\r\nsubject:  s \r\n\r\n")
    assert json.loads(blob) == {"to": ["a b", "c"], "subject": ["s"]}
