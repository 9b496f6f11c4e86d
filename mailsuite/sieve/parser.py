"""Sieve parser: tokens to a syntax tree (RFC 5228 section 8.2).

This is the grammar only::

    start       = commands
    commands    = *command
    command     = identifier arguments (";" / block)
    block       = "{" commands "}"
    arguments   = *argument [ test / test-list ]
    argument    = string-list / number / tag
    test        = identifier arguments
    test-list   = "(" test *("," test) ")"
    string-list = "[" string *("," string) "]" / string

Which commands exist and what arguments they take is checked afterwards by
:mod:`mailsuite.sieve.compiler`, so the error for ``fileinto 42;`` says what
fileinto wants rather than "syntax error".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Final

from mailsuite.sieve.errors import SieveError
from mailsuite.sieve.lexer import Token, TokenKind, tokenize

__all__ = [
    "MAX_NESTING",
    "Argument",
    "CommandNode",
    "NumberArg",
    "StringListArg",
    "TagArg",
    "TestNode",
    "parse",
]

# Blocks inside blocks and tests inside tests; Pigeonhole allows 32 levels.
# Deeper is surely a generated or hostile script, and recursion must stay bounded.
MAX_NESTING: Final = 32


@dataclass(frozen=True, slots=True)
class StringListArg:
    """A string or a bracketed string list; ``is_list`` tells which was written."""

    values: tuple[str, ...]
    line: int
    is_list: bool


@dataclass(frozen=True, slots=True)
class NumberArg:
    value: int
    line: int


@dataclass(frozen=True, slots=True)
class TagArg:
    """A tag such as ``:contains``; ``name`` is lower case, without the colon."""

    name: str
    line: int


Argument = StringListArg | NumberArg | TagArg


@dataclass(frozen=True, slots=True)
class TestNode:
    """A test as written: name, arguments, nested tests; ``test_list`` when parenthesised."""

    __test__: ClassVar[bool] = False  # not a pytest test class, despite the name

    name: str
    args: tuple[Argument, ...]
    tests: tuple[TestNode, ...]
    line: int
    test_list: bool = False


@dataclass(frozen=True, slots=True)
class CommandNode:
    """A command as written; ``block`` is None when it ended with ";"."""

    name: str
    args: tuple[Argument, ...]
    tests: tuple[TestNode, ...]
    block: tuple[CommandNode, ...] | None
    line: int
    test_list: bool = False


def parse(source: str, path: str = "<script>") -> tuple[CommandNode, ...]:
    """Parse a script into its top-level commands.

    Raises:
        SieveError: on the first syntax error, with its line.
    """
    return _Parser(tokenize(source, path), path).script()


class _Parser:
    def __init__(self, tokens: list[Token], path: str) -> None:
        self.toks = tokens
        self.i = 0
        self.path = path

    def peek(self) -> Token:
        return self.toks[self.i]

    def take(self) -> Token:
        tok = self.toks[self.i]
        if tok.kind is not TokenKind.EOF:
            self.i += 1
        return tok

    def expect(self, kind: TokenKind, what: str) -> Token:
        tok = self.take()
        if tok.kind is not kind:
            raise self.error(f"expected {what}, found {tok.describe()}", tok)
        return tok

    def error(self, message: str, tok: Token) -> SieveError:
        return SieveError(message, self.path, tok.line)

    def script(self) -> tuple[CommandNode, ...]:
        cmds = self.commands(depth=0)
        tok = self.peek()
        if tok.kind is not TokenKind.EOF:
            raise self.error(f"unexpected {tok.describe()}: a command starts with a name", tok)
        return cmds

    def commands(self, depth: int) -> tuple[CommandNode, ...]:
        out: list[CommandNode] = []
        while self.peek().kind is TokenKind.IDENT:
            out.append(self.command(depth))
        return tuple(out)

    def command(self, depth: int) -> CommandNode:
        name_tok = self.take()
        name = str(name_tok.value)
        args = self.arguments()
        tests, test_list = self.optional_tests(depth)
        tok = self.take()
        if tok.kind is TokenKind.SEMICOLON:
            return CommandNode(name, args, tests, None, name_tok.line, test_list)
        if tok.kind is TokenKind.LBRACE:
            if depth + 1 > MAX_NESTING:
                raise self.error(f"blocks are nested deeper than {MAX_NESTING} levels", tok)
            block = self.commands(depth + 1)
            end = self.take()
            if end.kind is not TokenKind.RBRACE:
                raise self.error(
                    f"expected '}}' to close the block of '{name}' opened on line {tok.line}, "
                    f"found {end.describe()}",
                    end,
                )
            return CommandNode(name, args, tests, block, name_tok.line, test_list)
        hint = " (missing ';' after the previous command?)" if tok.kind is TokenKind.IDENT else ""
        raise self.error(
            f"expected ';' or '{{' after command '{name}', found {tok.describe()}{hint}",
            tok,
        )

    def arguments(self) -> tuple[Argument, ...]:
        args: list[Argument] = []
        while True:
            tok = self.peek()
            if tok.kind is TokenKind.STRING:
                self.take()
                args.append(StringListArg((str(tok.value),), tok.line, False))
            elif tok.kind is TokenKind.LBRACKET:
                args.append(self.string_list())
            elif tok.kind is TokenKind.NUMBER:
                self.take()
                assert isinstance(tok.value, int)
                args.append(NumberArg(tok.value, tok.line))
            elif tok.kind is TokenKind.TAG:
                self.take()
                args.append(TagArg(str(tok.value), tok.line))
            else:
                return tuple(args)

    def string_list(self) -> StringListArg:
        open_tok = self.take()
        values: list[str] = []
        while True:
            tok = self.take()
            if tok.kind is not TokenKind.STRING:
                raise self.error(
                    f"expected a string in the string list, found {tok.describe()}", tok
                )
            values.append(str(tok.value))
            tok = self.take()
            if tok.kind is TokenKind.RBRACKET:
                return StringListArg(tuple(values), open_tok.line, True)
            if tok.kind is not TokenKind.COMMA:
                raise self.error(
                    f"expected ',' or ']' in the string list, found {tok.describe()}", tok
                )

    def optional_tests(self, depth: int) -> tuple[tuple[TestNode, ...], bool]:
        tok = self.peek()
        if tok.kind is TokenKind.IDENT:
            return (self.test(depth + 1),), False
        if tok.kind is TokenKind.LPAREN:
            return self.test_list(depth + 1), True
        return (), False

    def test(self, depth: int) -> TestNode:
        tok = self.expect(TokenKind.IDENT, "a test name")
        if depth > MAX_NESTING:
            raise self.error(f"tests are nested deeper than {MAX_NESTING} levels", tok)
        args = self.arguments()
        tests, test_list = self.optional_tests(depth)
        return TestNode(str(tok.value), args, tests, tok.line, test_list)

    def test_list(self, depth: int) -> tuple[TestNode, ...]:
        self.take()
        tests = [self.test(depth)]
        while True:
            tok = self.take()
            if tok.kind is TokenKind.RPAREN:
                return tuple(tests)
            if tok.kind is not TokenKind.COMMA:
                raise self.error(
                    f"expected ',' or ')' in the test list, found {tok.describe()}", tok
                )
            tests.append(self.test(depth))
