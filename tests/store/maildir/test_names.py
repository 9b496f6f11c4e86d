"""Mailbox names: hostile names refused, Unicode names stored as Dovecot stores them."""

from __future__ import annotations

import pytest

from mailsuite.errors import ErrorKind, MailError
from mailsuite.store.maildir.names import dir_name, name_from_dir, normalize_name

HOSTILE = [
    "",
    "..",
    ".",
    "../etc",
    "a/../../b",
    "a/b",
    "a\x00b",
    "a\nb",
    "a\tb",
    "a\x7fb",
    ".Leading",
    "Trailing.",
    "a..b",
    "a.*.b",
    "100%",
    " ",
    "a. .b",
    "\\x",
    "x" * 300,
    ".".join(["a"] * 40),
    "a\ud800b",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_are_refused_with_params(name: str) -> None:
    """Every hostile mailbox name is refused with a PARAMS error that says why."""
    with pytest.raises(MailError) as info:
        dir_name(name)
    assert info.value.kind is ErrorKind.PARAMS
    assert info.value.message.startswith("Invalid mailbox name: ")


def test_inbox_is_the_root_and_case_insensitive() -> None:
    """INBOX in any case is the root directory; its children keep the INBOX prefix."""
    assert dir_name("inbox") == ""
    assert normalize_name("iNbOx") == "INBOX"
    assert dir_name("inbox.Sub") == ".INBOX.Sub"


def test_unicode_levels_are_modified_utf7_like_dovecot() -> None:
    """Foo.Bär is stored as .Foo.B&AOQ-r, exactly the directory Dovecot makes."""
    assert dir_name("Foo.Bär") == ".Foo.B&AOQ-r"
    assert name_from_dir(".Foo.B&AOQ-r") == "Foo.Bär"
    assert dir_name("A&B") == ".A&-B"


def test_directories_that_are_not_mailboxes_are_ignored() -> None:
    """Non-canonical or hostile directory names never become mailbox names."""
    for d in ["..", ".", "cur", ".a..b", ".B&AOQ", ".x.", "..mailsuite-trash-1"]:
        assert name_from_dir(d) is None
