"""The fast cache form of ENVELOPE/BODYSTRUCTURE: mailsuite.message.blob via to_blob/from_blob."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from mailsuite.message import Address, BodyStructure, Envelope, Message
from mailsuite.message.build import EMPTY_TEXT_PART
from mailsuite.message.model import BLOB_TAG

from .test_model import ENV, LEAF, MSG, MULTI

CORPUS = Path(__file__).with_name("corpus")
FILES = sorted(p for p in CORPUS.iterdir() if p.suffix in (".txt", ".eml"))

# What the earlier version (JSON_VERSION 1) wrote into every existing index.
OLD_ENVELOPE_JSON = (
    b'[1,["Wed, 01 Jan 2025 00:00:00 +0000","Rupu huvamo",[["Tabe Nucilefi",null,"tabe",'
    b'"biin.example"]],[["Tabe Nucilefi",null,"tabe","biin.example"]],[["Tabe Nucilefi",null,'
    b'"tabe","biin.example"]],[[null,null,"recipient0","bench.test"]],null,null,null,'
    b'"<0.73e3ab7575f1@biin.example>"]]'
)
OLD_BODY_JSON = (
    b'[1,["s","text","plain",["charset","utf-8"],null,null,"7bit",4090,64,null,null,null,'
    b"null,null,null]]"
)


def _blob(value: Any) -> bytes:
    return BLOB_TAG + json.dumps(value).encode("ascii")


def test_envelope_blob_round_trip() -> None:
    """An envelope survives the blob form unchanged, 8-bit bytes, groups and () included."""
    blob = ENV.to_blob()
    assert blob[:1] == BLOB_TAG
    assert Envelope.from_blob(blob) == ENV


@pytest.mark.parametrize("value", [LEAF, MSG, MULTI, EMPTY_TEXT_PART])
def test_bodystructure_blob_round_trip(value: BodyStructure) -> None:
    """Basic, message/rfc822 and multipart structures survive the blob form unchanged."""
    assert BodyStructure.from_blob(value.to_blob()) == value


def test_blob_is_deterministic_and_smaller_than_json() -> None:
    """The same value always gives the same blob, smaller than its JSON form."""
    assert ENV.to_blob() == ENV.to_blob()
    assert len(MULTI.to_blob()) < len(MULTI.to_json())


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_corpus_round_trips(path: Path) -> None:
    """Every corpus message's structures survive both cache forms, read by from_blob."""
    msg = Message.from_bytes(path.read_bytes())
    env, bs = msg.envelope(), msg.bodystructure()
    assert Envelope.from_blob(env.to_blob()) == env
    assert BodyStructure.from_blob(bs.to_blob()) == bs
    assert Envelope.from_blob(env.to_json()) == env
    assert BodyStructure.from_blob(bs.to_json()) == bs


def test_reads_json_blobs_of_the_earlier_version() -> None:
    """An index written before the blob form is served as it is, without a rebuild."""
    env = Envelope.from_blob(OLD_ENVELOPE_JSON)
    assert env == Envelope.from_json(OLD_ENVELOPE_JSON)
    assert env.from_ == (Address("Tabe Nucilefi", None, "tabe", "biin.example"),)
    body = BodyStructure.from_blob(OLD_BODY_JSON)
    assert body == BodyStructure(
        type="text", subtype="plain", params=(("charset", "utf-8"),), size=4090, lines=64
    )


def test_shared_address_lists_are_decoded_once() -> None:
    """Sender and Reply-To equal to From come back as From's own tuple."""
    env = Envelope(
        "d", "s", (Address("A", None, "a", "x.example"),), None, None, None, None, None, None, None
    )
    env = Envelope(
        env.date,
        env.subject,
        env.from_,
        env.from_,
        env.from_,
        env.to,
        env.cc,
        env.bcc,
        None,
        None,
    )
    back = Envelope.from_blob(env.to_blob())
    assert back == env
    assert back.sender is back.from_ and back.reply_to is back.from_


def test_one_address_is_one_object_across_blobs() -> None:
    """An address seen in an earlier blob is handed out as the same (immutable) object."""
    first = Envelope.from_blob(ENV.to_blob())
    second = Envelope.from_blob(ENV.to_blob())
    assert first.from_ is not None and second.from_ is not None
    assert first.from_[0] is second.from_[0]


GOOD_LEAF = ("text", "plain", None, None, None, "7bit", 1, 1, None, None, None, None, None, None)
GOOD_ENV = ("d", "s", None, None, None, None, None, None, None, None)


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"\x02",
        b"\x02garbage",
        b"\x03" + json.dumps(GOOD_ENV).encode(),
        _blob(GOOD_ENV) + b" x",
        _blob(GOOD_ENV).replace(b'"s"', b'"\xc3\xa9"'),
        BLOB_TAG + b"[" * 100_000 + b"]" * 100_000,
        b"x",
        b"[1, 5]",
        _blob(None),
        _blob([]),
        _blob(GOOD_ENV[:9]),
        _blob(("d", 5, *GOOD_ENV[2:])),
        _blob(("d", "s", 1, *GOOD_ENV[3:])),
        _blob(("d", "s", None, None, None, 0, *GOOD_ENV[6:])),
        _blob(("d", "s", ["n", None, "m", "h"], *GOOD_ENV[3:])),
        _blob(("d", "s", ("nonh",), *GOOD_ENV[3:])),
        _blob(("d", "s", (("n", None, "m"),), *GOOD_ENV[3:])),
        _blob(("d", "s", (("n", None, "m", 4),), *GOOD_ENV[3:])),
        _blob(("d", "s", (("n", None, "m", ["h"]),), *GOOD_ENV[3:])),
        _blob(("d", "s", ((["n"], None, "m", "h"),), *GOOD_ENV[3:])),
        _blob({"a": 1}),
        _blob(1.5),
        _blob(GOOD_ENV)[:-3],
    ],
)
def test_envelope_from_blob_rejects_bad_blobs(blob: bytes) -> None:
    """A damaged, foreign or mis-typed blob raises ValueError, never anything else."""
    with pytest.raises(ValueError):
        Envelope.from_blob(blob)


@pytest.mark.parametrize(
    "blob",
    [
        b"\x02",
        _blob(GOOD_ENV),
        _blob(GOOD_LEAF[:13]),
        _blob(("text", "plain", None, None, None, "7bit", "1", 1, *GOOD_LEAF[8:])),
        _blob(("text", "plain", None, None, None, "7bit", True, 1, *GOOD_LEAF[8:])),
        _blob(("text", "plain", None, None, None, "7bit", 1, 1.5, *GOOD_LEAF[8:])),
        _blob(("text", "plain", (("charset",),), *GOOD_LEAF[3:])),
        _blob(("text", "plain", (("charset", 1),), *GOOD_LEAF[3:])),
        _blob(("text", "plain", ["charset", "x"], *GOOD_LEAF[3:])),
        _blob(("text", "plain", "charset", *GOOD_LEAF[3:])),
        _blob((*GOOD_LEAF[:12], "en", GOOD_LEAF[13])),
        _blob((*GOOD_LEAF[:11], ("attachment",), *GOOD_LEAF[12:])),
        _blob((*GOOD_LEAF[:12], ("en", 1), GOOD_LEAF[13])),
        _blob((*GOOD_LEAF[:8], GOOD_ENV[:3], GOOD_LEAF, *GOOD_LEAF[10:])),
        _blob(("multipart", "mixed", (), None, None, None, None)),
        _blob(("multipart", "mixed", (GOOD_LEAF[:5],), None, None, None, None)),
        _blob(("multipart", "mixed", GOOD_LEAF, None, None, None, None)),
        _blob(("multipart", "mixed", "x", None, None, None, None)),
        _blob(("multipart", 7, (GOOD_LEAF,), None, None, None, None)),
    ],
)
def test_bodystructure_from_blob_rejects_bad_blobs(blob: bytes) -> None:
    """A damaged, foreign or mis-typed structure blob raises ValueError, never anything else."""
    with pytest.raises(ValueError):
        BodyStructure.from_blob(blob)


def test_message_rfc822_blob_needs_both_envelope_and_body() -> None:
    """A basic part with an envelope but a broken body is rejected, not half-built."""
    good = (*GOOD_LEAF[:8], GOOD_ENV, GOOD_LEAF, *GOOD_LEAF[10:])
    assert BodyStructure.from_blob(_blob(good)).envelope == Envelope(*GOOD_ENV)
    with pytest.raises(ValueError):
        BodyStructure.from_blob(_blob((*GOOD_LEAF[:8], GOOD_ENV, ("x",), *GOOD_LEAF[10:])))


@pytest.mark.parametrize("form", ["to_blob", "to_json"])
@pytest.mark.parametrize("value", [ENV, MULTI, MSG])
def test_damaged_blobs_never_raise_anything_but_value_error(
    value: Envelope | BodyStructure, form: str
) -> None:
    """Every truncation and many random byte changes of either form either decode to the
    class or raise ValueError."""
    cls = type(value)
    blob = getattr(value, form)()
    rng = random.Random(f"blob:{cls.__name__}:{form}:{len(blob)}")
    damaged = [blob[:n] for n in range(len(blob))]
    for _ in range(400):
        b = bytearray(blob)
        for _ in range(rng.randint(1, 3)):
            b[rng.randrange(len(b))] = rng.choice(b'[]{}",:0123456789nul\\\x02\xff')
        damaged.append(bytes(b))
    for bad in damaged:
        try:
            got = cls.from_blob(bad)
        except ValueError:
            continue
        assert type(got) is cls


def test_json_form_shares_from_with_equal_sender() -> None:
    """A format 1 envelope whose Sender and Reply-To equal From decodes them as From's tuple."""
    env = Envelope.from_blob(OLD_ENVELOPE_JSON)
    assert env.sender is env.from_ and env.reply_to is env.from_


def test_memo_is_outside_equality_hash_and_repr() -> None:
    """A value with an encoder's memo still equals, hashes and prints as one without."""
    a = Address("A", None, "a", "x.example")
    b = Address("A", None, "a", "x.example")
    assert a.memoize(b"(memo)") == b"(memo)" and a.memo == b"(memo)"
    assert a == b and hash(a) == hash(b) and repr(a) == repr(b)
    env = Envelope.from_blob(ENV.to_blob())
    env.memoize(b"x")
    assert env == ENV and "memo" not in repr(env)


def test_any_bytes_like_blob_loads() -> None:
    """A blob handed over as bytearray or memoryview (SQLite gives either) loads the same."""
    for blob in (ENV.to_blob(), ENV.to_json()):
        assert Envelope.from_blob(bytearray(blob)) == ENV
        assert Envelope.from_blob(memoryview(blob)) == ENV
