"""The seeding: deterministic, realistic, and exactly described by its manifest."""

from __future__ import annotations

import email
import email.policy
import hashlib
import os
import re
from pathlib import Path

from bench.seed import (
    BODY_TOKEN,
    SUBJECT_TOKEN,
    Manifest,
    Profile,
    clone_mail,
    load_or_seed,
    message_bytes_crlf,
    seed_template,
)

TINY = Profile(users=2, inbox=40, medium=60, big=300, sinks=2, seed=7)


def _files(root: str) -> dict[str, str]:
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, root)] = hashlib.sha256(f.read()).hexdigest()
    return out


def _messages(maildir: str) -> list[str]:
    return [
        os.path.join(maildir, sub, n)
        for sub in ("cur", "new")
        for n in sorted(os.listdir(os.path.join(maildir, sub)))
    ]


def test_same_profile_gives_identical_bytes(tmp_path: Path) -> None:
    """Two seedings of one profile produce the same file names and contents."""
    seed_template(str(tmp_path / "a"), TINY)
    seed_template(str(tmp_path / "b"), TINY)
    a, b = _files(str(tmp_path / "a" / "mail")), _files(str(tmp_path / "b" / "mail"))
    assert a == b
    assert len(a) == 2 * 40 + 300 + 60 + 1 + 1  # messages plus two maildirfolder markers


def test_another_seed_gives_other_mail(tmp_path: Path) -> None:
    """Changing the seed changes the generated messages."""
    seed_template(str(tmp_path / "a"), TINY)
    seed_template(str(tmp_path / "b"), Profile(**{**TINY.__dict__, "seed": 8}))
    a, b = _files(str(tmp_path / "a" / "mail")), _files(str(tmp_path / "b" / "mail"))
    assert set(a.values()) != set(b.values())


def test_manifest_matches_the_files(tmp_path: Path) -> None:
    """Counts, CRLF sizes and the S=/W= file-name sizes agree with the bytes on disk."""
    manifest = seed_template(str(tmp_path), TINY)
    home = tmp_path / "mail" / "user00"
    for box, path in (("INBOX", home), ("Big", home / ".Big")):
        files = _messages(str(path))
        facts = manifest.facts("user00", box)
        assert len(files) == facts.count
        total = 0
        for name in files:
            data = Path(name).read_bytes()
            m = re.search(r",S=(\d+),W=(\d+)", name)
            assert m and int(m.group(1)) == len(data)
            assert int(m.group(2)) == message_bytes_crlf(data)
            total += message_bytes_crlf(data)
        assert total == facts.crlf_bytes
    assert manifest.facts("sink00", "INBOX").count == 0
    assert (home / ".Big" / "maildirfolder").exists()
    assert manifest.facts("user01", "Medium").count == 60


def test_planted_tokens_are_counted_exactly(tmp_path: Path) -> None:
    """The manifest's search-hit counts equal the messages whose Subject or text holds a token."""
    manifest = seed_template(str(tmp_path), TINY)
    subj = body = 0
    for name in _messages(str(tmp_path / "mail" / "user00" / ".Big")):
        msg = email.message_from_bytes(Path(name).read_bytes(), policy=email.policy.default)
        subj += SUBJECT_TOKEN in str(msg["Subject"]).lower()
        texts = [p.get_content() for p in msg.walk() if p.get_content_type() == "text/plain"]
        body += any(BODY_TOKEN in t.lower() for t in texts)  # SEARCH ignores case
    facts = manifest.facts("user00", "Big")
    assert (subj, body) == (facts.subject_hits, facts.body_hits)
    assert subj > 0 and body > 0


def test_messages_parse_cleanly_with_a_realistic_size_mix(tmp_path: Path) -> None:
    """Every message parses without defects; small text mail dominates and attachments exist."""
    seed_template(str(tmp_path), TINY)
    sizes, types = [], set()
    for name in _messages(str(tmp_path / "mail" / "user00" / ".Big")):
        data = Path(name).read_bytes()
        msg = email.message_from_bytes(data, policy=email.policy.default)
        assert not msg.defects, (name, msg.defects)
        assert msg["Message-ID"] and msg["Date"] and msg["From"]
        sizes.append(len(data))
        types.add(msg.get_content_type())
    sizes.sort()
    assert types == {"text/plain", "multipart/alternative", "multipart/mixed"}
    assert sizes[len(sizes) // 2] < 10_000  # the median message is small
    assert sizes[-1] > 100_000  # and the tail carries attachments


def test_template_is_cached_and_clones_are_independent(tmp_path: Path) -> None:
    """load_or_seed reuses a finished template; renaming in a clone leaves the template alone."""
    root, manifest = load_or_seed(str(tmp_path), TINY)
    again, manifest2 = load_or_seed(str(tmp_path), TINY)
    assert again == root and isinstance(manifest2, Manifest)
    assert manifest2.to_json() == manifest.to_json()
    clone = str(tmp_path / "clone")
    clone_mail(root, clone)
    first = _messages(os.path.join(clone, "user00"))[0]
    os.rename(first, first + "T")  # what a flag change does in Maildir
    assert os.path.exists(os.path.join(root, "mail", os.path.relpath(first, clone)))
    assert _files(os.path.join(root, "mail")) != _files(clone)
