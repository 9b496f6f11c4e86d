"""The Sieve grammar (RFC 5228 8.2): what parses, and where syntax errors are reported."""

from __future__ import annotations

import pytest

from mailsuite.sieve.errors import SieveError
from mailsuite.sieve.parser import (
    MAX_NESTING,
    CommandNode,
    NumberArg,
    StringListArg,
    TagArg,
    TestNode,
    parse,
)


def test_command_with_arguments_test_and_block() -> None:
    """An if with a tagged test and a block parses into the generic tree."""
    (cmd,) = parse('if header :contains ["From","To"] "x" { keep; }')
    assert cmd == CommandNode(
        "if",
        (),
        (
            TestNode(
                "header",
                (
                    TagArg("contains", 1),
                    StringListArg(("From", "To"), 1, True),
                    StringListArg(("x",), 1, False),
                ),
                (),
                1,
            ),
        ),
        (CommandNode("keep", (), (), None, 1),),
        1,
    )


def test_test_lists_nest() -> None:
    """anyof/allof/not nest through parenthesised test lists."""
    (cmd,) = parse("if anyof (not true, allof (false, size :over 1K)) { stop; }")
    anyof = cmd.tests[0]
    assert anyof.name == "anyof" and anyof.test_list
    assert [t.name for t in anyof.tests] == ["not", "allof"]
    assert anyof.tests[1].tests[1].args == (TagArg("over", 1), NumberArg(1024, 1))


def test_empty_script_and_empty_block() -> None:
    """An empty script and an empty block are both valid."""
    assert parse("") == ()
    assert parse("# only a comment\n") == ()
    (cmd,) = parse("if true {}")
    assert cmd.block == ()


@pytest.mark.parametrize(
    ("source", "line", "fragment"),
    [
        ("keep", 1, "expected ';' or '{'"),
        ("if true {\nkeep;\n", 3, "expected '}'"),
        ('fileinto ["a" "b"];', 1, "expected ',' or ']'"),
        ("fileinto [];", 1, "expected a string"),
        ("if anyof (true, false {}", 1, "expected ',' or ')'"),
        ("if anyof () {}", 1, "expected a test name"),
        ("}", 1, "unexpected '}'"),
        ('keep;\n\n"x";', 3, "unexpected string"),
    ],
)
def test_syntax_errors_name_the_line(source: str, line: int, fragment: str) -> None:
    """Every syntax error says what was expected and on which line."""
    with pytest.raises(SieveError) as info:
        parse(source, "s.sieve")
    assert info.value.line == line, info.value
    assert fragment in info.value.message


def test_block_nesting_is_bounded() -> None:
    """Blocks nested beyond the limit are refused instead of exhausting the stack."""
    ok = "if true {" * MAX_NESTING + "}" * MAX_NESTING
    parse(ok)
    deep = "if true {" * (MAX_NESTING + 1) + "}" * (MAX_NESTING + 1)
    with pytest.raises(SieveError, match="nested deeper"):
        parse(deep)


def test_test_nesting_is_bounded() -> None:
    """Tests nested beyond the limit are refused (a hostile "not not not ..." script)."""
    with pytest.raises(SieveError, match="nested deeper"):
        parse("if " + "not " * 10_000 + "true {}")
