"""encoded-character (RFC 5228 2.4.2.4): ${hex:..} and ${unicode:..} in strings."""

from __future__ import annotations

import pytest

from mailsuite.sieve import Discard, FileInto, Keep
from mailsuite.sieve.encoded import decode_encoded_characters
from tests.sieve.support import compile_error, message, run


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${hex:24 24}", "$$"),  # the RFC's own example: "$$"
        ("${HEX: 40}", "@"),
        ("${unicode:40}", "@"),
        ("${Unicode:1F600 20 e9}", "\U0001f600 é"),
        ("${hex:C3 A9}", "é"),
        ("a${hex:41}b${unicode:42}c", "aAbBc"),
        ("${hex:}", "${hex:}"),  # not an encoding: left alone
        ("${hex:xyz}", "${hex:xyz}"),
        ("${hex:123}", "${hex:123}"),
        ("${other:41}", "${other:41}"),
        ("no encodings", "no encodings"),
    ],
)
def test_decoding(text: str, expected: str) -> None:
    """Well-formed sequences are decoded; anything else stays as written."""
    assert decode_encoded_characters(text) == expected


@pytest.mark.parametrize("text", ["${unicode:D800}", "${unicode:110000}", "${hex:C3}"])
def test_invalid_characters_are_errors(text: str) -> None:
    """Surrogates, code points past U+10FFFF and invalid UTF-8 are errors."""
    with pytest.raises(ValueError):
        decode_encoded_characters(text)


def test_rfc_example_in_a_script() -> None:
    """RFC 5228 2.4.2.4: 'header :contains "Subject" "$${hex:24 24}"' matches "$$$"."""
    script = (
        'require "encoded-character";\nif header :contains "Subject" "$${hex:24 24}" { discard; }'
    )
    assert run(script, message(Subject="win $$$ now")) == [Discard()]
    assert run(script, message(Subject="win $$ now")) == [Keep()]


def test_only_with_require() -> None:
    """Without the require the text is taken literally."""
    script = 'require "fileinto"; fileinto "${hex:41}";'
    assert run(script) == [FileInto("${hex:41}")]
    assert run('require ["fileinto", "encoded-character"];' + script[19:]) == [FileInto("A")]


def test_bad_encoding_is_a_compile_error() -> None:
    """A script with an invalid encoded character does not compile."""
    e = compile_error('require "encoded-character";\nif header "a" "${unicode:D800}" {}')
    assert e.line == 2 and "bad encoded character" in e.message
