"""Action resolution: implicit keep, :copy, flags on actions and incompatible actions."""

from __future__ import annotations

import pytest

from mailsuite.sieve import (
    Discard,
    FileInto,
    Keep,
    Redirect,
    Reject,
    SieveError,
    compile_script,
    evaluate_all,
)
from tests.sieve.support import context, run

FLAGS = 'require ["imap4flags", "fileinto"];'


def test_copy_keeps_the_implicit_keep() -> None:
    """fileinto/redirect :copy leave the implicit keep in force (RFC 3894 3)."""
    assert run('require ["copy", "fileinto"]; fileinto :copy "a";') == [FileInto("a"), Keep()]
    assert run('require "copy"; redirect :copy "x@example.com";') == [
        Redirect("x@example.com"),
        Keep(),
    ]


def test_copy_does_not_undo_an_earlier_cancel() -> None:
    """:copy does not bring back an implicit keep another action already cancelled."""
    script = 'require ["copy", "fileinto"]; fileinto "a"; redirect :copy "x@example.com";'
    assert run(script) == [FileInto("a"), Redirect("x@example.com")]


def test_copy_with_discard() -> None:
    """fileinto :copy then discard: only the copy is stored."""
    assert run('require ["copy", "fileinto"]; fileinto :copy "a"; discard;') == [FileInto("a")]


def test_internal_variable_applies_to_implicit_keep() -> None:
    """The flags variable at the end of the run goes on the implicit keep (RFC 5232 5)."""
    script = FLAGS + 'setflag "\\\\Seen"; addflag ["Junk", "\\\\Flagged"]; removeflag "\\\\seen";'
    assert run(script) == [Keep(frozenset({"Junk", "\\Flagged"}))]


def test_actions_take_the_variable_when_they_run() -> None:
    """keep/fileinto without :flags use the variable's value at that moment."""
    script = FLAGS + 'addflag "A"; fileinto "x"; addflag "B"; fileinto "y";'
    assert run(script) == [FileInto("x", frozenset({"A"})), FileInto("y", frozenset({"A", "B"}))]


def test_flags_tag_overrides_the_variable() -> None:
    """:flags gives the action its own flags and leaves the variable alone (RFC 5232 5)."""
    script = FLAGS + 'addflag "A"; fileinto :flags "B C" "x"; keep :flags "";'
    assert run(script) == [FileInto("x", frozenset({"B", "C"})), Keep()]


def test_setflag_replaces() -> None:
    """setflag replaces the whole variable (RFC 5232 3.1)."""
    assert run(FLAGS + 'addflag "A"; setflag "B";') == [Keep(frozenset({"B"}))]


def test_hasflag() -> None:
    """hasflag matches the variable's flags with the given match type (RFC 5232 4)."""
    base = FLAGS + 'setflag ["A", "b C"];'
    cases = {
        'hasflag "a"': True,
        'hasflag :is "b A"': True,
        'hasflag "d"': False,
        'hasflag :contains "C"': True,
        'hasflag :comparator "i;octet" "B"': False,
        'hasflag :matches "?"': True,
        'hasflag :matches "??"': False,
    }
    for test, expected in cases.items():
        actions = run(base + f" if {test} {{ discard; }}")
        assert (actions == [Discard()]) is expected, test


def test_same_mailbox_twice_stores_once_with_the_later_flags() -> None:
    """Filing into one mailbox twice stores once; the later action's flags win (as Pigeonhole)."""
    script = FLAGS + 'fileinto :flags "A" "x"; fileinto :flags "B" "x";'
    assert run(script) == [FileInto("x", frozenset({"B"}))]
    assert run(FLAGS + 'keep :flags "A"; keep;') == [Keep()]


def test_create_sticks_across_duplicate_fileinto() -> None:
    """Once a fileinto asked for :create, the merged delivery creates the mailbox."""
    script = 'require ["fileinto", "mailbox"]; fileinto "F"; fileinto :create "F";'
    assert run(script) == [FileInto("F", create=True)]


def test_copy_to_inbox_and_implicit_keep_store_once_with_both_flags() -> None:
    """fileinto :copy "INBOX" and the implicit keep are one delivery carrying both flag sets."""
    script = 'require ["imap4flags", "fileinto", "copy"]; fileinto :copy :flags "A" "INBOX";'
    assert run(script + ' addflag "B";') == [Keep(frozenset({"A", "B"}))]


def test_reject_cancels_implicit_keep() -> None:
    """reject alone refuses the message and stores nothing (RFC 5429 2.1)."""
    assert run('require "reject"; reject "go away";') == [Reject("go away")]
    assert run('require "ereject"; ereject "go away";') == [Reject("go away", extended=True)]


@pytest.mark.parametrize(
    "other",
    ["keep;", 'fileinto "x";', 'redirect "x@example.com";', 'vacation "away";'],
)
def test_reject_conflicts(other: str) -> None:
    """reject with keep, fileinto, redirect or vacation is a runtime error (RFC 5429 2.3)."""
    script = f'require ["reject", "fileinto", "vacation"]; {other} reject "no";'
    with pytest.raises(SieveError, match="reject cannot be combined"):
        run(script, message="To: me@example.com\nSubject: x\n\nbody\n")


def test_reject_with_discard_is_fine() -> None:
    """reject and discard do not conflict: nothing is stored either way."""
    assert run('require "reject"; discard; reject "no";') == [Reject("no")]


def test_two_rejects_are_an_error() -> None:
    """Only one reject or ereject may run per message."""
    with pytest.raises(SieveError, match="only one reject"):
        run('require ["reject", "ereject"]; reject "a";\nereject "b";')


def test_two_vacations_are_an_error() -> None:
    """Only one vacation may run per message."""
    with pytest.raises(SieveError, match="only one vacation"):
        run('require "vacation"; vacation "a"; vacation "b";')


def test_conflicts_across_scripts_name_both_places() -> None:
    """A reject in the user script clashing with a keep in a before-script names both files."""
    before = compile_script("keep;", "before.sieve")
    user = compile_script('require "reject";\n\nreject "no";', "user.sieve")
    with pytest.raises(SieveError) as info:
        evaluate_all([before, user], context())
    assert str(info.value) == (
        "user.sieve:3: reject cannot be combined with keep, fileinto or redirect (before.sieve:1)"
    )
