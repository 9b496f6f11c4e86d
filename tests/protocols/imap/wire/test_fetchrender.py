"""FETCH values byte for byte: ENVELOPE, BODY, BODYSTRUCTURE, sections, partials, flags."""

from __future__ import annotations

import datetime
import random
from pathlib import Path

import pytest

from mailsuite.message import Address, BodyStructure, Envelope, Message
from mailsuite.protocols.imap.wire.encode import encode_internaldate, encode_string
from mailsuite.protocols.imap.wire.fetchrender import (
    literal_header,
    partial_range,
    render_binary,
    render_body,
    render_envelope,
    render_flags,
    render_internaldate,
    render_modseq,
    render_section,
)

GRAY = Address("Terry Gray", None, "gray", "cac.washington.edu")
RFC3501_ENVELOPE = Envelope(
    date="Wed, 17 Jul 1996 02:23:25 -0700 (PDT)",
    subject="IMAP4rev1 WG mtg summary and minutes",
    from_=(GRAY,),
    sender=(GRAY,),
    reply_to=(GRAY,),
    to=(Address(None, None, "imap", "cac.washington.edu"),),
    cc=(
        Address(None, None, "minutes", "CNRI.Reston.VA.US"),
        Address("John Klensin", None, "KLENSIN", "MIT.EDU"),
    ),
    bcc=None,
    in_reply_to=None,
    message_id="<B27397-0100000@cac.washington.edu>",
)


def test_rfc3501_envelope() -> None:
    """The RFC 3501 section 8 ENVELOPE example renders byte for byte."""
    assert render_envelope(RFC3501_ENVELOPE) == (
        b'("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev1 WG mtg summary and minutes"'
        b' (("Terry Gray" NIL "gray" "cac.washington.edu"))'
        b' (("Terry Gray" NIL "gray" "cac.washington.edu"))'
        b' (("Terry Gray" NIL "gray" "cac.washington.edu"))'
        b' ((NIL NIL "imap" "cac.washington.edu"))'
        b' ((NIL NIL "minutes" "CNRI.Reston.VA.US")'
        b'("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL NIL'
        b' "<B27397-0100000@cac.washington.edu>")'
    )


def test_envelope_groups_quotes_and_8bit() -> None:
    """Groups, quotes and raw 8-bit header bytes render as the RFC grammar requires."""
    env = Envelope(
        date=None,
        subject='say "hi"\\',
        from_=(Address("M\udcc3\udcbcller", None, "m", "x.de"),),
        sender=None,
        reply_to=None,
        to=(
            Address(None, None, "undisclosed", None),
            Address(None, None, None, None),
        ),
        cc=(),
        bcc=None,
        in_reply_to="<a@b>",
        message_id=None,
    )
    assert render_envelope(env) == (
        b'(NIL "say \\"hi\\"\\\\" (({7}\r\nM\xc3\xbcller NIL "m" "x.de")) NIL NIL'
        b' ((NIL NIL "undisclosed" NIL)(NIL NIL NIL NIL)) NIL NIL "<a@b>" NIL)'
    )


TEXT = BodyStructure(
    "TEXT",
    "PLAIN",
    params=(("CHARSET", "US-ASCII"),),
    encoding="7BIT",
    size=3028,
    lines=92,
)


def test_rfc3501_text_body() -> None:
    """The RFC 3501 section 8 BODY example, and its BODYSTRUCTURE with extension data."""
    assert render_body(TEXT, extensible=False) == (
        b'("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92)'
    )
    assert render_body(TEXT) == (
        b'("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92 NIL NIL NIL NIL)'
    )


def test_basic_body_has_no_lines() -> None:
    """A non-text, non-message body carries no line count; extension data is complete."""
    image = BodyStructure(
        "image",
        "png",
        params=(),
        id="<img1>",
        description="logo",
        encoding="base64",
        size=120,
        md5="abc",
        disposition=("inline", (("filename", "a b.png"),)),
        language=("en", "de"),
        location="http://x/",
    )
    assert render_body(image) == (
        b'("image" "png" NIL "<img1>" "logo" "base64" 120 "abc"'
        b' ("inline" ("filename" "a b.png")) ("en" "de") "http://x/")'
    )
    assert render_body(image, extensible=False) == (
        b'("image" "png" NIL "<img1>" "logo" "base64" 120)'
    )


def test_multipart_with_message_rfc822() -> None:
    """Multiparts put their parts side by side; message/rfc822 carries envelope, body, lines."""
    inner_env = Envelope(None, "inner", None, None, None, None, None, None, None, None)
    inner_body = BodyStructure("text", "plain", encoding="7bit", size=4, lines=1)
    msg = BodyStructure(
        "message", "rfc822", encoding="7bit", size=22, lines=3, envelope=inner_env, body=inner_body
    )
    mixed = BodyStructure(
        "multipart",
        "mixed",
        params=(("boundary", "x"),),
        parts=(TEXT, msg),
        disposition=None,
        language=("en",),
    )
    envelope_nil = b'(NIL "inner" NIL NIL NIL NIL NIL NIL NIL NIL)'
    assert render_body(mixed, extensible=False) == (
        b'(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92)'
        b'("message" "rfc822" NIL NIL NIL "7bit" 22 '
        + envelope_nil
        + b' ("text" "plain" NIL NIL NIL "7bit" 4 1) 3) "mixed")'
    )
    assert render_body(mixed) == (
        b'(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92 NIL NIL NIL NIL)'
        b'("message" "rfc822" NIL NIL NIL "7bit" 22 '
        + envelope_nil
        + b' ("text" "plain" NIL NIL NIL "7bit" 4 1 NIL NIL NIL NIL) 3 NIL NIL NIL NIL)'
        b' "mixed" ("boundary" "x") NIL "en" NIL)'
    )


@pytest.mark.parametrize(
    ("total", "partial", "expected"),
    [
        (100, None, (0, 100)),
        (100, (0, 10), (0, 10)),
        (100, (95, 10), (95, 5)),
        (100, (100, 10), (100, 0)),
        (100, (500, 10), (100, 0)),
    ],
)
def test_partial_range(
    total: int, partial: tuple[int, int] | None, expected: tuple[int, int]
) -> None:
    """Partials clip at the end; an origin past the end selects nothing (RFC 3501 6.4.5)."""
    assert partial_range(total, partial) == expected


def test_sections() -> None:
    """Section values are literals, cut by the partial; a missing section is NIL."""
    assert render_section(b"Hello\r\nWorld") == b"{12}\r\nHello\r\nWorld"
    assert render_section(b"Hello\r\nWorld", (7, 100)) == b"{5}\r\nWorld"
    assert render_section(b"abc", (10, 5)) == b"{0}\r\n"
    assert render_section(None) == b"NIL"
    assert literal_header(5) == b"{5}\r\n"


def test_binary() -> None:
    """BINARY values use literal8 only when they hold NUL (RFC 3516 4.3)."""
    assert render_binary(b"ab\x00c") == b"~{4}\r\nab\x00c"
    assert render_binary(b"abc", (1, 1)) == b"{1}\r\nb"
    assert render_binary(None) == b"NIL"


def test_simple_items() -> None:
    """FLAGS, INTERNALDATE and MODSEQ render in their RFC forms."""
    assert render_flags(["\\Seen", "$Junk"], recent=True) == b"(\\Seen \\Recent $Junk)"
    assert render_flags([]) == b"()"
    tz = datetime.timezone(datetime.timedelta(hours=-7))
    assert render_internaldate(837596665, tz) == b'"17-Jul-1996 02:44:25 -0700"'
    assert render_modseq(624140003) == b"(624140003)"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "plain words",
        'say "hi"',
        "back\\slash",
        "tab\there",
        "del\x7f",
        "ctl\x01",
        "M\udcc3\udcbcller",
        "M\u00fcller",
        "NIL",
        "x" * 1024,
        "x" * 1025,
    ],
)
def test_header_text_quoting_follows_encode_string(text: str) -> None:
    """Header text is quoted or sent as a literal exactly as encode_string decides."""
    env = Envelope(None, text, None, None, None, None, None, None, None, None)
    raw = text.encode("utf-8", "surrogateescape")
    assert (
        render_envelope(env) == b"(NIL " + encode_string(raw) + b" NIL NIL NIL NIL NIL NIL NIL NIL)"
    )


def test_rendering_is_kept_on_the_value() -> None:
    """A second rendering of the same envelope or structure returns the kept bytes."""
    env = Envelope("d", "s", (GRAY,), (GRAY,), None, None, None, None, None, None)
    first = render_envelope(env)
    assert render_envelope(env) is first and env.memo is first
    mixed = BodyStructure("multipart", "mixed", parts=(TEXT,))
    body = render_body(mixed, extensible=False)
    structure = render_body(mixed)
    assert body != structure
    assert render_body(mixed, extensible=False) is body and render_body(mixed) is structure
    fresh = BodyStructure("multipart", "mixed", parts=(TEXT,))
    assert render_body(fresh) == structure and render_body(fresh, extensible=False) == body


def test_parameters_as_lists_still_render() -> None:
    """Parameters built as lists (unhashable) render the same as tuples."""
    listed = BodyStructure("text", "plain", params=[["charset", "utf-8"]], size=1, lines=1)  # type: ignore[arg-type]
    tupled = BodyStructure("text", "plain", params=(("charset", "utf-8"),), size=1, lines=1)
    assert render_body(listed) == render_body(tupled)


CORPUS = Path(__file__).resolve().parents[3] / "message" / "corpus"
CORPUS_FILES = sorted(p for p in CORPUS.iterdir() if p.suffix in (".txt", ".eml"))


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_cached_forms_render_like_the_parsed_message(path: Path) -> None:
    """ENVELOPE, BODY and BODYSTRUCTURE from either cache form are the parsed message's bytes."""
    msg = Message.from_bytes(path.read_bytes())
    env, bs = msg.envelope(), msg.bodystructure()
    want = (render_envelope(env), render_body(bs), render_body(bs, extensible=False))
    for load_env, load_bs, blob_env, blob_bs in (
        (Envelope.from_blob, BodyStructure.from_blob, env.to_blob(), bs.to_blob()),
        (Envelope.from_blob, BodyStructure.from_blob, env.to_json(), bs.to_json()),
        (Envelope.from_json, BodyStructure.from_json, env.to_json(), bs.to_json()),
    ):
        got_env, got_bs = load_env(blob_env), load_bs(blob_bs)
        assert (
            render_envelope(got_env),
            render_body(got_bs),
            render_body(got_bs, extensible=False),
        ) == want


def test_flags_from_frozensets_and_other_iterables_agree() -> None:
    """FLAGS is the same for a frozenset (kept encoding) and any other iterable, \\Recent or not."""
    flags = frozenset({"\\Seen", "$Junk", "\\Answered"})
    for recent in (False, True, False):
        assert render_flags(flags, recent=recent) == render_flags(list(flags), recent=recent)
    assert render_flags(flags, recent=True) == b"(\\Answered \\Seen \\Recent $Junk)"


def test_utc_internaldate_matches_encode_internaldate() -> None:
    """The UTC fast path gives encode_internaldate's bytes across the whole range."""
    rng = random.Random(3501)
    stamps = [0, 59, 86_399, 951_782_400, 2**31 - 1, 2**31, 253_402_300_799, 1e9 + 0.9]
    stamps += [rng.uniform(0, 253_402_300_799) for _ in range(2000)]
    for ts in stamps:
        assert render_internaldate(ts) == encode_internaldate(ts)
    assert render_internaldate(837_571_465) == b'"17-Jul-1996 02:44:25 +0000"'
    assert render_internaldate(0) == b'" 1-Jan-1970 00:00:00 +0000"'
