"""Decoded text parts for SEARCH and Sieve: mailsuite.message.text."""

from __future__ import annotations

import pytest

from mailsuite.message import Message
from mailsuite.message.text import decode_transfer

RAW = (
    b"Content-Type: multipart/mixed; boundary=b\n\n--b\n"
    b"Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n"
    b"caf=E9 =\nau lait\n--b\n"
    b"Content-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: BASE64\n\n"
    b"PHA+w6l0w6k8L3A+\n--b\n"
    b"Content-Type: image/png\nContent-Transfer-Encoding: base64\n\niVBORw0K\n--b\n"
    b"Content-Type: message/rfc822\n\nSubject: fwd\n\nforwarded text\n--b\n"
    b"Content-Type: text/plain; charset=x-nonsense\n\nutf-8 \xc3\xa9 and bad \xff\n--b--\n"
)


def test_text_parts_are_decoded_in_order() -> None:
    """Every text/* part, nested ones too, is decoded from its transfer encoding and charset."""
    assert list(Message.from_bytes(RAW).text_parts()) == [
        "caf\u00e9 au lait",
        "<p>\u00e9t\u00e9</p>",
        "forwarded text",
        "utf-8 \u00e9 and bad \ufffd",
    ]


def test_plain_message_without_content_type() -> None:
    """A message without MIME headers is one text part."""
    assert list(Message.from_bytes(b"Subject: x\n\nhello\n").text_parts()) == ["hello\r\n"]


@pytest.mark.parametrize(
    ("body", "enc", "want"),
    [
        (b"aGk=", "base64", b"hi"),
        (b"aG\r\nk=", "Base64", b"hi"),
        (b"aGk", "base64", b"hi"),
        (b"!!!", "base64", b""),
        (b"a=3Db=\r\nc", "quoted-printable", b"a=bc"),
        (b"raw", "8bit", b"raw"),
        (b"raw", None, b"raw"),
        (b"raw", "x-uuencode", b"raw"),
    ],
)
def test_decode_transfer(body: bytes, enc: str | None, want: bytes) -> None:
    """Transfer encodings decode leniently; unknown ones pass the bytes through."""
    assert decode_transfer(body, enc) == want


@pytest.mark.parametrize(
    "charset",
    ["rot13", "base64", "hex", "zlib", "uu", "idna", "punycode", "x\x00y", "", "a" * 300],
)
def test_unusable_charsets_never_raise(charset: str) -> None:
    """Charsets that name non-text or failing codecs decode leniently instead of raising."""
    raw = (
        f"Subject: =?{charset}?q?=FF=FE_abc?=\n"
        f'Content-Type: text/plain; charset="{charset}"\n\n\xff\xfe abc\n'
    ).encode("latin-1")
    msg = Message.from_bytes(raw)
    assert len(msg.header_values("subject")) == 1
    (text,) = msg.text_parts()
    assert text.endswith("abc\r\n")
