"""RFC 5256 section 2.1 base subject extraction, rule by rule."""

from __future__ import annotations

import pytest

from mailsuite.protocols.imap.basesubject import (
    BaseSubject,
    ascii_casemap,
    base_subject,
    extract_base_subject,
)

CASES: list[tuple[str | None, str, bool]] = [
    # nothing there
    (None, "", False),
    ("", "", False),
    ("   ", "", False),
    # step 1: RFC 2047, tabs, folding and runs of spaces
    ("=?utf-8?q?R=C3=A9sum=C3=A9?=", "R\u00e9sum\u00e9", False),
    ("=?iso-8859-1?q?Re=3A_caf=E9?=", "caf\u00e9", True),  # decoded before "re:" is seen
    ("=?utf-8?b?SGVsbG8=?= =?utf-8?b?V29ybGQ=?=", "HelloWorld", False),  # RFC 2047 6.2
    ("a\tb", "a b", False),
    ("folded\r\n  subject  line", "folded subject line", False),
    ("many     spaces", "many spaces", False),
    ("=?unknown-charset?q?x?= kept", "=?unknown-charset?q?x?= kept", False),
    # step 2: subj-trailer, repeatedly, any case
    ("hello (fwd)", "hello", True),
    ("hello (FWD) (Fwd)  ", "hello", True),
    ("hello   ", "hello", False),
    ("hello(fwd)", "hello", True),
    ("hello (fwd) x", "hello (fwd) x", False),
    # step 3: subj-leader = *subj-blob subj-refwd / WSP
    ("Re: hello", "hello", True),
    ("RE: hello", "hello", True),
    ("re:hello", "hello", True),
    ("Fw: hello", "hello", True),
    ("FWD: hello", "hello", True),
    ("Re : hello", "hello", True),  # *WSP before the colon
    ("Re[2]: hello", "hello", True),  # optional blob in subj-refwd
    ("Re [2] : hello", "hello", True),
    ("Re: Re: RE: fwd: hello", "hello", True),
    ("[list] Re: hello", "hello", True),
    ("[PATCH] [v2] Re: fix", "fix", True),
    ("Reply: hello", "Reply: hello", False),
    ("Ref: hello", "Ref: hello", False),
    ("Re hello", "Re hello", False),
    ("Fwdx: hello", "Fwdx: hello", False),
    ("Re:", "", True),
    # step 4: a leading blob goes only when a non-empty subj-base remains
    ("[list] hello", "hello", False),
    ("[list]hello", "hello", False),
    ("[list]", "[list]", False),
    ("[a][b]", "[b]", False),
    ("[a] [b] text", "text", False),
    ("[Liste-Fran\u00e7aise] bonjour", "bonjour", False),  # non-ASCII blob (as Dovecot)
    ("[unclosed hello", "[unclosed hello", False),
    # step 5: 3 and 4 alternate
    ("[list] Re: [other] Fwd: hello", "hello", True),
    ("Re: [list] Re: hello", "hello", True),
    # step 6: subj-fwd-hdr ... subj-fwd-trl, then again from step 2
    ("[fwd: hello]", "hello", True),
    ("[Fwd: Re: hello]", "hello", True),
    ("[FWD: [fwd: hello (fwd)]]", "hello", True),
    ("Fw: [Fwd: [a] b]", "b", True),
    ("[fwd: hello] tail", "tail", False),  # not wrapping: "[fwd: hello]" is a plain blob
    ("[fwd:]", "", True),
    ("Re: [fwd: ]", "", True),
]


@pytest.mark.parametrize(("raw", "text", "refwd"), CASES)
def test_base_subject(raw: str | None, text: str, refwd: bool) -> None:
    """Each subject reduces to the RFC 5256 base subject with the right reply/forward mark."""
    assert extract_base_subject(raw) == BaseSubject(text, refwd)
    assert base_subject(raw) == text


def test_extraction_is_idempotent() -> None:
    """A base subject is its own base subject (step 5 and 6 run to a fixed point)."""
    for raw, text, _refwd in CASES:
        assert base_subject(text) == text, raw


def test_surrogate_escaped_bytes_survive() -> None:
    """Raw 8-bit header bytes (surrogate-escaped by the store) pass through without error."""
    raw = b"Re: caf\xe9".decode("utf-8", "surrogateescape")
    assert base_subject(raw) == b"caf\xe9".decode("latin-1")


def test_ascii_casemap_maps_only_ascii_letters() -> None:
    """i;ascii-casemap upper-cases a-z and leaves every other character alone (RFC 4790 9.2)."""
    assert ascii_casemap("abc xyz 09 [") == "ABC XYZ 09 ["
    assert ascii_casemap("\u00e9\u00df") == "\u00e9\u00df"
    assert ascii_casemap("Re") == ascii_casemap("rE")
    # Code point order is UTF-8 octet order: "Z" < "a" < "\u00e9" once mapped.
    assert sorted(["\u00e9", "a", "Z"], key=ascii_casemap) == ["a", "Z", "\u00e9"]
