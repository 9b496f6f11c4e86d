"""APPEND: the cached ENVELOPE and BODYSTRUCTURE come from the bytes written, not a re-read."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailsuite.store.maildir import MaildirStore

from .conftest import msg


@pytest.mark.parametrize("as_file", [False, True])
def test_cached_blobs_of_an_append_match_the_ones_made_from_the_file(
    store: MaildirStore, tmp_path: Path, as_file: bool
) -> None:
    """ENVELOPE and BODYSTRUCTURE parsed from the appended bytes equal a rebuild from disk."""
    import io

    from mailsuite.store.maildir import append as append_mod

    data = msg(1, "Cc: carol@example.org\nContent-Type: text/plain; charset=utf-8\n")
    mbox = store.open_mailbox("INBOX")
    uid = mbox.append(io.BytesIO(data) if as_file else data)  # type: ignore[arg-type]
    stored = {k: mbox.core.index.get_blob(uid, k)[0] for k in ("env", "bs")}
    mbox.core.index.delete_blobs([(uid, "env"), (uid, "bs")])
    mbox.core.forget_read_ahead()
    rebuilt = {k: mbox._cached(uid, k) for k in ("env", "bs")}
    assert stored == rebuilt and all(stored.values())
    # A message above the in-memory limit is parsed from its file instead.
    big = data + b"x" * (append_mod.PARSE_IN_MEMORY_MAX_BYTES + 10) + b"\n"
    uid2 = mbox.append(io.BytesIO(big) if as_file else big)  # type: ignore[arg-type]
    assert mbox.core.index.get_blob(uid2, "bs")[0] is not None
    assert mbox.bodystructure(uid2) == mbox.message(uid2).bodystructure()
