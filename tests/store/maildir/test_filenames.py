"""Maildir file names: unique bases, size fields, sorted flag letters."""

from __future__ import annotations

from mailsuite.store.maildir.filenames import (
    NameGenerator,
    join_name,
    letters_for,
    parse_name,
)


def test_size_fields_and_flags_are_read_from_dovecot_names() -> None:
    """,S= and ,W= are honoured and the info letters are split off the base."""
    p = parse_name("1795441070.M660365P11426.vm,S=28,W=32:2,DFRT")
    assert p.base == "1795441070.M660365P11426.vm,S=28,W=32"
    assert (p.size, p.vsize, p.letters) == (28, 32, "DFRT")
    q = parse_name("1234.M1P2.host")
    assert (q.size, q.vsize, q.info) == (None, None, None)


def test_letters_are_sorted_and_unknown_uppercase_kept() -> None:
    """Flag letters come out in ASCII order and a 'P' (passed) letter survives a change."""
    kw = {"$Forwarded": "a", "Junk": "b"}.get
    assert letters_for(["\\Seen", "Junk", "\\Answered", "$Forwarded"], kw, keep="P") == "PRSab"
    assert join_name("base", "SRa") == "base:2,RSa"


def test_generated_names_are_unique_and_carry_sizes() -> None:
    """Names from one generator at one instant still differ, and carry S= and W=."""
    gen = NameGenerator(clock=lambda: 1700000000.25, host="mail/x:y", pid=lambda: 42)
    a, b = gen.new_base(10, 12), gen.new_base(10, 12)
    assert a != b
    assert a.startswith("1700000000.M250000P42Q")
    assert "mail\\057x\\072y" in a and a.endswith(",S=10,W=12")
