"""ENVELOPE/BODYSTRUCTURE dataclasses and their cache form: mailsuite.message.model."""

from __future__ import annotations

import pytest

from mailsuite.message import Address, BodyStructure, Envelope

ENV = Envelope(
    date="Mon, 7 Feb 1994 21:52:25 -0800 (PST)",
    subject="8-bit \udce4 and \u00e9",
    from_=(Address("Fred Foobar", None, "foobar", "Blurdybloop.example"),),
    sender=(Address(None, None, "g", None), Address(None, None, None, None)),
    reply_to=None,
    to=(Address(None, "@a,@b", "mooch", "owatagu.example"),),
    cc=None,
    bcc=(),
    in_reply_to=None,
    message_id="<B27397-0100000@Blurdybloop.example>",
)
LEAF = BodyStructure(
    type="TEXT",
    subtype="PLAIN",
    params=(("CHARSET", "US-ASCII"), ("name*", "utf-8''%E2%82%AC")),
    id="<id>",
    description="d",
    encoding="QUOTED-PRINTABLE",
    size=3028,
    lines=92,
    md5="abc",
    disposition=("attachment", (("filename", "a.txt"),)),
    language=("en", "de"),
    location="http://x/",
)
MSG = BodyStructure(type="message", subtype="rfc822", size=10, lines=1, envelope=ENV, body=LEAF)
MULTI = BodyStructure(
    type="multipart",
    subtype="mixed",
    params=(("boundary", "x"),),
    parts=(LEAF, MSG, BodyStructure(type="image", subtype="gif", encoding="base64", size=1)),
    disposition=("inline", None),
)


@pytest.mark.parametrize("value", [ENV])
def test_envelope_json_round_trip(value: Envelope) -> None:
    """An envelope survives the cache unchanged, 8-bit header bytes included."""
    blob = value.to_json()
    assert isinstance(blob, bytes)
    assert Envelope.from_json(blob) == value


@pytest.mark.parametrize("value", [LEAF, MSG, MULTI])
def test_bodystructure_json_round_trip(value: BodyStructure) -> None:
    """Basic, message/rfc822 and multipart structures survive the cache unchanged."""
    assert BodyStructure.from_json(value.to_json()) == value


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"garbage",
        b"[]",
        b"[2, []]",
        b"[1, 5]",
        b'[1, ["m", "a", "b", [], null, null, null, null]]',
        b'[1, ["s", 1, 2]]',
        b"\xff\xfe",
        b'[1, ["s","t","p",null,null,null,"7bit","x",null,null,null,null,null,null,null]]',
    ],
)
def test_from_json_rejects_foreign_blobs(blob: bytes) -> None:
    """A damaged or foreign cache blob raises ValueError so the store rebuilds it."""
    with pytest.raises(ValueError):
        BodyStructure.from_json(blob)
    with pytest.raises(ValueError):
        Envelope.from_json(blob)


def test_kind_predicates() -> None:
    """The renderer can tell multipart, text and message/rfc822 bodies apart."""
    assert MULTI.is_multipart and not MULTI.is_text
    assert LEAF.is_text and not LEAF.is_multipart and not LEAF.is_message
    assert MSG.is_message and not MSG.is_text
