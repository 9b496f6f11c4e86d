"""The Sieve lexer: tokens, strings, comments and numbers as RFC 5228 8.1 defines them."""

from __future__ import annotations

import pytest

from mailsuite.sieve.errors import SieveError
from mailsuite.sieve.lexer import MAX_SCRIPT_CHARS, TokenKind, tokenize


def kinds_values(source: str) -> list[tuple[TokenKind, object]]:
    return [(t.kind, t.value) for t in tokenize(source)][:-1]


def test_punctuation_identifiers_tags_numbers() -> None:
    """Every token kind is recognised; identifiers and tags are lower-cased."""
    toks = kinds_values('IF :Is [ "a" , 12 ] ( ) { } ;')
    assert toks == [
        (TokenKind.IDENT, "if"),
        (TokenKind.TAG, "is"),
        (TokenKind.LBRACKET, "["),
        (TokenKind.STRING, "a"),
        (TokenKind.COMMA, ","),
        (TokenKind.NUMBER, 12),
        (TokenKind.RBRACKET, "]"),
        (TokenKind.LPAREN, "("),
        (TokenKind.RPAREN, ")"),
        (TokenKind.LBRACE, "{"),
        (TokenKind.RBRACE, "}"),
        (TokenKind.SEMICOLON, ";"),
    ]


@pytest.mark.parametrize(
    ("source", "value"),
    [("1K", 1024), ("2k", 2048), ("3M", 3 << 20), ("1G", 1 << 30), ("0", 0), ("007", 7)],
)
def test_number_quantifiers(source: str, value: int) -> None:
    """K, M and G multiply by 2^10, 2^20 and 2^30, in either case (RFC 5228 2.4.1)."""
    assert kinds_values(source) == [(TokenKind.NUMBER, value)]


def test_number_too_big_is_an_error() -> None:
    """A number beyond 2^63-1 is refused rather than silently wrapped."""
    with pytest.raises(SieveError, match="too big"):
        tokenize("99999999999999999999G")


def test_number_with_garbage_suffix_is_an_error() -> None:
    """``10X`` is not a number with an unknown quantifier but an error."""
    with pytest.raises(SieveError, match="bad number"):
        tokenize("size :over 10X;")


@pytest.mark.parametrize(
    ("source", "value"),
    [
        (r'"plain"', "plain"),
        (r'"a\"b"', 'a"b'),
        (r'"a\\b"', "a\\b"),
        (r'"\a\b\c"', "abc"),  # RFC 5228 2.4.2: undefined escapes drop the backslash
        (r'"\\*"', "\\*"),
        ('""', ""),
        ('"two\nlines"', "two\r\nlines"),
        ('"two\r\nlines"', "two\r\nlines"),
        ('"ünïcödé"', "ünïcödé"),
    ],
)
def test_quoted_string_escapes(source: str, value: str) -> None:
    """Quoted strings honour \\" and \\\\ and normalise raw line ends to CRLF."""
    assert kinds_values(source) == [(TokenKind.STRING, value)]


def test_multiline_string_with_dot_stuffing() -> None:
    """text: strings end at a lone dot and lose one leading dot per line (RFC 5228 2.4.2)."""
    source = 'text: # a comment\nline one\n..dotted\n.... Fred\n\\no escapes "here"\n.\n'
    assert kinds_values(source) == [
        (TokenKind.STRING, 'line one\r\n.dotted\r\n... Fred\r\n\\no escapes "here"\r\n')
    ]


def test_multiline_string_with_crlf_and_empty_body() -> None:
    """A CRLF-terminated text: block with no lines is the empty string."""
    assert kinds_values("text:\r\n.\r\n") == [(TokenKind.STRING, "")]


def test_multiline_string_must_start_on_its_own_line() -> None:
    """Anything but blanks or a comment after text: is an error."""
    with pytest.raises(SieveError, match="line end"):
        tokenize("text: hello\n.\n")


def test_unterminated_multiline_string_names_its_first_line() -> None:
    """A text: block without the closing dot is reported at the line it began."""
    with pytest.raises(SieveError) as info:
        tokenize("keep;\nreject text:\nno end\n")
    assert info.value.line == 2
    assert "unterminated" in info.value.message


def test_comments_are_skipped_and_lines_counted() -> None:
    """Hash and bracket comments vanish, but the line numbers after them stay right."""
    toks = tokenize("# one\n/* two\nthree */ keep; # four\n/**/stop;")
    assert [(t.kind, t.value, t.line) for t in toks] == [
        (TokenKind.IDENT, "keep", 3),
        (TokenKind.SEMICOLON, ";", 3),
        (TokenKind.IDENT, "stop", 4),
        (TokenKind.SEMICOLON, ";", 4),
        (TokenKind.EOF, "", 4),
    ]


def test_bracket_comment_stars() -> None:
    """A bracket comment may hold stars and slashes and ends at the first */."""
    assert kinds_values("/* ** / * **/ keep") == [(TokenKind.IDENT, "keep")]


def test_hash_comment_at_end_of_file_without_newline() -> None:
    """A trailing hash comment with no line end is fine."""
    assert kinds_values("keep; # bye") == [(TokenKind.IDENT, "keep"), (TokenKind.SEMICOLON, ";")]


@pytest.mark.parametrize(
    ("source", "line", "fragment"),
    [
        ('keep;\n"open', 2, "unterminated string"),
        ("keep;\n\n/* open", 3, "unterminated /* comment"),
        ("keep; @", 1, "unexpected character '@'"),
        ("keep;\n: x", 2, "tag name"),
        ('"ends in backslash\\', 1, "unterminated string"),
    ],
)
def test_lexical_errors_carry_line_numbers(source: str, line: int, fragment: str) -> None:
    """Each lexical error names the line it happened on."""
    with pytest.raises(SieveError) as info:
        tokenize(source, "x.sieve")
    assert info.value.line == line
    assert fragment in info.value.message
    assert str(info.value).startswith(f"x.sieve:{line}: ")


def test_oversized_script_is_refused() -> None:
    """A script beyond the size limit is refused before any work is done."""
    with pytest.raises(SieveError, match="longer than"):
        tokenize("#" * (MAX_SCRIPT_CHARS + 1))
