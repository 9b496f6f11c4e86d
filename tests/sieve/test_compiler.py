"""Compile-time checks: require, extensions, tags and arguments (RFC 5228 2.10.6, 3.2)."""

from __future__ import annotations

import pytest

from mailsuite.sieve import ast, compile_script
from mailsuite.sieve.match import Comparator, MatchType
from tests.sieve.support import compile_error


def test_require_records_capabilities() -> None:
    """Required capabilities end up on the script; comparators may be required too."""
    s = compile_script(
        'require ["fileinto", "envelope"]; require "comparator-i;octet";'
        'require "comparator-i;ascii-casemap";'
    )
    assert {"fileinto", "envelope", "comparator-i;octet"} <= s.requires


def test_unknown_capability_is_an_error() -> None:
    """require of something unsupported fails the compile (RFC 5228 3.2)."""
    e = compile_error('require ["fileinto", "body"];')
    assert e.line == 1 and 'unknown capability "body"' in e.message
    assert str(e) == f"test.sieve:1: {e.message}"


def test_require_after_other_commands_is_an_error() -> None:
    """require must come first (RFC 5228 3.2)."""
    e = compile_error('keep;\nrequire "fileinto";')
    assert e.line == 2 and "before every other command" in e.message


def test_require_inside_a_block_is_an_error() -> None:
    """require is a top-level command only."""
    e = compile_error('if true {\n require "fileinto";\n}')
    assert e.line == 2 and "inside a block" in e.message


@pytest.mark.parametrize(
    ("script", "capability"),
    [
        ('fileinto "x";', "fileinto"),
        ('reject "no";', "reject"),
        ('ereject "no";', "ereject"),
        ('vacation "away";', "vacation"),
        ('setflag "\\\\Seen";', "imap4flags"),
        ('addflag "a";', "imap4flags"),
        ('removeflag "a";', "imap4flags"),
        ('if envelope "to" "x" {}', "envelope"),
        ('if hasflag "a" {}', "imap4flags"),
        ('if mailboxexists "a" {}', "mailbox"),
        ('require "fileinto"; fileinto :copy "x";', "copy"),
        ('require "fileinto"; fileinto :create "x";', "mailbox"),
        ('keep :flags "a";', "imap4flags"),
        ('if address :user "to" "x" {}', "subaddress"),
        ('if address :detail "to" "x" {}', "subaddress"),
        ('require "vacation"; vacation :seconds 60 "x";', "vacation-seconds"),
    ],
)
def test_extensions_need_require(script: str, capability: str) -> None:
    """Using an extension without requiring it is a compile error naming the capability."""
    e = compile_error(script)
    assert f'require "{capability}"' in e.message


@pytest.mark.parametrize(
    ("script", "fragment"),
    [
        ("frobnicate;", "unknown command 'frobnicate'"),
        ('header "a" "b";', "it is a test"),
        ("if keep {}", "it is a command"),
        ("if frob {}", "unknown test 'frob'"),
        ("elsif true {}", "must follow 'if'"),
        ("keep; else {}", "must follow 'if'"),
        ("if true { } else { } else { }", "must follow 'if'"),
        ("if true;", "needs a block"),
        ("if (true, false) {}", "exactly one test"),
        ("else true {}", "must follow"),
        ("if true {} else true {}", "'else' takes no test"),
        ("keep { }", "takes no block"),
        ("keep\nstop;", "missing ';' before 'stop'"),
        ("if anyof (true false) {}", "missing ',' before 'false'"),
        ("keep true;", "takes no test"),
        ("stop 1;", "takes 0 positional"),
        ('if header :is "a" {}', "takes 2 positional"),
        ('if header :bogus "a" "b" {}', "unknown tag ':bogus'"),
        ('if header "a" :is "b" {}', "must come before"),
        ('if header :is :contains "a" "b" {}', "cannot be used with ':is'"),
        ('if header :is :is "a" "b" {}', "given twice"),
        ('if header :comparator "i;unknown" "a" "b" {}', "not supported"),
        (
            'if header :comparator "i;ascii-numeric" "a" "b" {}',
            'needs require "comparator-i;ascii-numeric"',
        ),
        (
            'require "comparator-i;ascii-numeric";'
            'if header :contains :comparator "i;ascii-numeric" "a" "b" {}',
            "cannot be used with ':contains'",
        ),
        ('require "relational"; if header :value "gg" "a" "b" {}', "unknown relation 'gg'"),
        ('require "relational"; if header :count "a" "b" {}', "takes 2 positional"),
        ('if header :comparator 5 "a" "b" {}', "must be a string"),
        ("if header :comparator {}", "needs a string"),
        ('if header :count "gt" "a" "b" {}', "':count' needs require \"relational\""),
        ('if header "bad name" "b" {}', "not a valid header field name"),
        ('if header "bad:name" "b" {}', "not a valid header field name"),
        ('if exists "" {}', "not a valid header field name"),
        ("if size 100 {}", "':over' or ':under'"),
        ('if size :over "big" {}', "must be a number"),
        ("if size :over 1 :under 2 {}", "cannot be used with ':over'"),
        ("if anyof true {}", "test list in parentheses"),
        ("if not (true, false) {}", "exactly one test"),
        ("if true :x {}", "unknown tag ':x'"),
        ('if true "x" {}', "takes 0 positional"),
        ('redirect "not an address";', "valid mail address"),
        ("redirect 5;", "must be a string"),
        ('redirect ["a@b.c", "d@e.f"];', "must be a string"),
        ('require "envelope"; if envelope "auth" "x" {}', 'envelope part "auth"'),
        ('require "fileinto"; fileinto "";', "needs a mailbox name"),
        ('require "imap4flags"; setflag "var" "\\\\Seen";', 'needs require "variables"'),
        ('require "imap4flags"; if hasflag "v" "a" {}', 'needs require "variables"'),
        ('require "vacation"; vacation :from "not valid" "x";', "':from' is not a valid"),
        ('require "vacation"; vacation :addresses ["ok@x.org", "bad"] "x";', "invalid address"),
        ('require "vacation"; vacation :days "3" "x";', "must be a number"),
        ('require ["vacation", "vacation-seconds"]; vacation :days 1 :seconds 5 "x";', "cannot"),
        ('require "vacation"; vacation;', "takes 1 positional"),
    ],
)
def test_semantic_errors(script: str, fragment: str) -> None:
    """Each misuse of a command or test is a compile error that says what is wrong."""
    e = compile_error(script)
    assert fragment in e.message, e.message


def test_all_errors_are_collected_with_lines() -> None:
    """A script with several mistakes reports each one on its own line, first first."""
    e = compile_error('require "bogus";\nfrob;\nif true { fileinto "x"; }\nkeep;\nredirect "x";\n')
    assert [(x.line, x.message.split(" ")[0]) for x in e.errors] == [
        (1, "unknown"),
        (2, "unknown"),
        (3, "'fileinto'"),
        (5, "'redirect'"),
    ]
    assert e is not e.errors[0] and e.line == 1


def test_errors_inside_failed_if_do_not_cascade() -> None:
    """An error in an if's test does not also make its elsif and else errors."""
    e = compile_error("if bogus {\n}\nelsif true {\n}\nelse {\n}\n")
    assert len(e.errors) == 1 and e.errors[0].line == 1


def test_compiled_tree_for_header_test() -> None:
    """Tags become typed fields: comparator, match type and keys on a Matcher."""
    s = compile_script('if header :comparator "i;octet" :matches "Subject" ["a*", "b?"] { stop; }')
    (cmd,) = s.commands
    assert isinstance(cmd, ast.IfCmd)
    test, body = cmd.branches[0]
    assert isinstance(test, ast.HeaderTest)
    assert test.headers == ("Subject",)
    assert test.matcher.comparator is Comparator.OCTET
    assert test.matcher.match_type is MatchType.MATCHES
    assert test.matcher.keys == ("a*", "b?")
    assert body == (ast.StopCmd(1),)


def test_if_elsif_else_become_one_chain() -> None:
    """if/elsif/else compile into one IfCmd with three branches, else without a test."""
    s = compile_script("if false { stop; } elsif true { keep; } else { discard; }")
    (cmd,) = s.commands
    assert isinstance(cmd, ast.IfCmd) and len(cmd.branches) == 3
    assert cmd.branches[2][0] is None


def test_one_element_list_is_accepted_as_a_string() -> None:
    """["INBOX.x"] where a string is due means the same string."""
    s = compile_script('require "fileinto"; fileinto ["Lists"];')
    assert s.commands == (ast.FileIntoCmd("Lists", False, False, None, 1),)


def test_redirect_address_is_normalised() -> None:
    """redirect accepts a name-addr and keeps only the addr-spec."""
    s = compile_script('redirect "Bart <bart@example.com>";')
    assert s.commands == (ast.RedirectCmd("bart@example.com", False, 1),)


def test_tags_and_identifiers_are_case_insensitive() -> None:
    """:DOMAIN and NOT work as in RFC 5228's own example."""
    compile_script('if NOT address :DOMAIN :IS ["From"] "example.com" { KEEP; }')
