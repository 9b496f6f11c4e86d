"""Sieve lexer: script text to tokens (RFC 5228 section 8.1).

The lexer knows identifiers, tags (``:name``), numbers with the ``K``/``M``/``G``
quantifiers, quoted strings with their escapes, multi-line ``text:`` strings
with dot-stuffing, the punctuation ``[ ] ( ) { } , ;`` and both comment forms.
Every token carries the line it starts on so errors can point at it.

Line ends: RFC 5228 asks for CRLF, but scripts written on Unix use LF; both
are accepted, and string values always use CRLF, as the RFC defines them.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Final

from mailsuite.sieve.errors import SieveError

__all__ = [
    "MAX_NUMBER",
    "MAX_SCRIPT_CHARS",
    "Token",
    "TokenKind",
    "tokenize",
]

# Dovecot's default sieve_max_script_size is 1 MiB; a bigger script is a mistake.
MAX_SCRIPT_CHARS: Final = 1024 * 1024
# RFC 5228 2.4.1: at least 2^31 must work; we stop at 2^63 - 1 (an unsigned
# 64-bit field in every other implementation) so values stay sane.
MAX_NUMBER: Final = 2**63 - 1

_QUANTIFIERS: Final = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


class TokenKind(enum.Enum):
    IDENT = "identifier"
    TAG = "tag"
    NUMBER = "number"
    STRING = "string"
    LBRACKET = "'['"
    RBRACKET = "']'"
    LPAREN = "'('"
    RPAREN = "')'"
    LBRACE = "'{'"
    RBRACE = "'}'"
    COMMA = "','"
    SEMICOLON = "';'"
    EOF = "end of script"


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its kind, its value (str for names and strings, int for numbers) and line."""

    kind: TokenKind
    value: str | int
    line: int

    def describe(self) -> str:
        """Name the token for an error message ("identifier 'foo'", "';'")."""
        if self.kind in (TokenKind.IDENT, TokenKind.TAG):
            prefix = ":" if self.kind is TokenKind.TAG else ""
            return f"{self.kind.value} '{prefix}{self.value}'"
        if self.kind is TokenKind.NUMBER:
            return f"number {self.value}"
        if self.kind is TokenKind.STRING:
            return "string"
        return str(self.kind.value)


_PUNCT: Final = {
    "[": TokenKind.LBRACKET,
    "]": TokenKind.RBRACKET,
    "(": TokenKind.LPAREN,
    ")": TokenKind.RPAREN,
    "{": TokenKind.LBRACE,
    "}": TokenKind.RBRACE,
    ",": TokenKind.COMMA,
    ";": TokenKind.SEMICOLON,
}

_WS: Final = re.compile(r"[ \t\r\n]+")
_IDENT: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER: Final = re.compile(r"([0-9]+)([KMGkmg]?)")
# RFC 5228 8.1: after "text:" only blanks and an optional hash comment may
# follow on the same line.
_TEXT_HEAD: Final = re.compile(r"[ \t]*(#[^\n]*)?\r?\n")


def tokenize(source: str, path: str = "<script>") -> list[Token]:
    """Split a whole script into tokens, ending with one EOF token.

    Args:
        source: the script text (already decoded from UTF-8).
        path: the script's path, for error messages.

    Returns:
        The tokens in order; the last one has kind ``EOF``.

    Raises:
        SieveError: on an unterminated string or comment, a malformed
            ``text:`` block, a number that is too big, or a stray character.
    """
    if len(source) > MAX_SCRIPT_CHARS:
        raise SieveError(f"script is longer than {MAX_SCRIPT_CHARS} characters", path, 1)
    return _Lexer(source, path).run()


class _Lexer:
    def __init__(self, source: str, path: str) -> None:
        self.src = source
        self.path = path
        self.pos = 0
        self.line = 1
        self.tokens: list[Token] = []

    def error(self, message: str, line: int | None = None) -> SieveError:
        return SieveError(message, self.path, self.line if line is None else line)

    def run(self) -> list[Token]:
        src = self.src
        n = len(src)
        while self.pos < n:
            c = src[self.pos]
            if c in " \t\r\n":
                m = _WS.match(src, self.pos)
                assert m is not None
                self.line += m.group().count("\n")
                self.pos = m.end()
            elif c == "#":
                end = src.find("\n", self.pos)
                self.pos = n if end < 0 else end
            elif c == "/" and src.startswith("/*", self.pos):
                self._bracket_comment()
            elif c in _PUNCT:
                self.tokens.append(Token(_PUNCT[c], c, self.line))
                self.pos += 1
            elif c == '"':
                self._quoted()
            elif c == ":":
                m = _IDENT.match(src, self.pos + 1)
                if m is None:
                    raise self.error("':' must be followed by a tag name")
                self.tokens.append(Token(TokenKind.TAG, m.group().lower(), self.line))
                self.pos = m.end()
            elif c in "0123456789":
                self._number()
            elif c == "_" or (c.isascii() and c.isalpha()):
                m = _IDENT.match(src, self.pos)
                assert m is not None
                word = m.group()
                if word.lower() == "text" and src.startswith(":", m.end()):
                    self.pos = m.end() + 1
                    self._multiline()
                else:
                    self.tokens.append(Token(TokenKind.IDENT, word.lower(), self.line))
                    self.pos = m.end()
            else:
                raise self.error(f"unexpected character {c!r}")
        self.tokens.append(Token(TokenKind.EOF, "", self.line))
        return self.tokens

    def _bracket_comment(self) -> None:
        end = self.src.find("*/", self.pos + 2)
        if end < 0:
            raise self.error("unterminated /* comment")
        self.line += self.src.count("\n", self.pos, end)
        self.pos = end + 2

    def _number(self) -> None:
        m = _NUMBER.match(self.src, self.pos)
        assert m is not None
        value = int(m.group(1))
        if m.group(2):
            value *= _QUANTIFIERS[m.group(2).upper()]
        if value > MAX_NUMBER:
            raise self.error(f"number {m.group()} is too big (the limit is {MAX_NUMBER})")
        after = self.src[m.end() : m.end() + 1]
        if after and (after.isalnum() or after == "_"):
            raise self.error(f"bad number {m.group()}{after}...: a number ends in K, M or G")
        self.tokens.append(Token(TokenKind.NUMBER, value, self.line))
        self.pos = m.end()

    def _quoted(self) -> None:
        # RFC 5228 2.4.2: backslash escapes the next character; "\\" and "\""
        # are the defined ones, any other "\x" reads as plain "x".
        src = self.src
        start_line = self.line
        out: list[str] = []
        i = self.pos + 1
        n = len(src)
        while True:
            j = i
            while j < n and src[j] not in '"\\\n\r':
                j += 1
            out.append(src[i:j])
            if j >= n:
                raise self.error("unterminated string", start_line)
            c = src[j]
            if c == '"':
                self.pos = j + 1
                break
            if c == "\\":
                if j + 1 >= n:
                    raise self.error("unterminated string", start_line)
                nxt = src[j + 1]
                if nxt in "\r\n":
                    # A backslash before a line end escapes nothing useful:
                    # keep the line end itself (normalised to CRLF below).
                    i = j + 1
                    continue
                out.append(nxt)
                i = j + 2
                continue
            # A raw line end inside a quoted string belongs to the value (as CRLF).
            if c == "\r" and src.startswith("\r\n", j):
                j += 1
            out.append("\r\n")
            self.line += 1
            i = j + 1
        self.tokens.append(Token(TokenKind.STRING, "".join(out), start_line))

    def _multiline(self) -> None:
        # RFC 5228 8.1: multi-line = "text:" *(SP / HTAB) (hash-comment / CRLF)
        #   *(multiline-literal / multiline-dotstart) "." CRLF
        # A line starting with "." has that dot removed (dot-stuffing); a line
        # holding just "." ends the string. No escapes apply inside.
        src = self.src
        start_line = self.line
        m = _TEXT_HEAD.match(src, self.pos)
        if m is None:
            raise self.error('"text:" must be followed by a line end')
        self.pos = m.end()
        self.line += 1
        lines: list[str] = []
        n = len(src)
        while True:
            if self.pos >= n:
                raise self.error(
                    'unterminated "text:" string: no line with a single "."', start_line
                )
            end = src.find("\n", self.pos)
            if end < 0:
                raw = src[self.pos :]
                self.pos = n
            else:
                raw = src[self.pos : end]
                self.pos = end + 1
                self.line += 1
            if raw.endswith("\r"):
                raw = raw[:-1]
            if raw == ".":
                break
            if raw.startswith("."):
                raw = raw[1:]
            lines.append(raw + "\r\n")
        self.tokens.append(Token(TokenKind.STRING, "".join(lines), start_line))
