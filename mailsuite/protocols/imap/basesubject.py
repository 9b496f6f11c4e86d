"""RFC 5256 section 2.1 base subject extraction, shared by SORT SUBJECT and THREAD.

The steps are the RFC's, in its order:

1. RFC 2047-decode the subject, turn tabs and line breaks into spaces and
   runs of spaces into one space.
2. Remove trailing ``subj-trailer`` (``"(fwd)"`` or white space), repeatedly.
3. Remove a leading ``subj-leader``: any ``[blob]``\\s then ``re``, ``fw`` or
   ``fwd``, optional white space, an optional ``[blob]`` and ``":"`` (or a
   single white space), repeatedly.
4. Remove one leading ``[blob]`` if what remains is not empty.
5. Repeat 3 and 4 until neither matches.
6. If the text is ``"[fwd:" ... "]"``, keep only the inside and go back to 2.

Where we choose (the RFC's grammar is ASCII): a blob may hold any character
but ``[`` and ``]``, so a list tag such as ``[Liste-Française]`` is a blob too
(Dovecot does the same). The "reply or forward" mark THREAD needs (RFC 5256
section 5, REFERENCES step 5) is set when step 2 removed a ``(fwd)``, step 3
removed a ``re:``/``fw:``/``fwd:`` or step 6 removed a ``[fwd: ...]``.
Comparison of base subjects is i;ascii-casemap (:func:`ascii_casemap`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from mailsuite.message.headers import decode_2047

__all__ = ["BaseSubject", "ascii_casemap", "base_subject", "extract_base_subject"]

_SPACES: Final = re.compile(r"[ \t\r\n]+")
# subj-trailer = "(fwd)" / WSP   (step 2, applied at the end until nothing matches)
_TRAILER: Final = re.compile(r"(?:\(fwd\)| )\Z", re.IGNORECASE)
# subj-blob = "[" *BLOBCHAR "]" *WSP
_BLOB: Final = r"\[[^\[\]]*\] *"
# subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"
# subj-leader = (*subj-blob subj-refwd) / WSP
_LEADER: Final = re.compile(rf"(?:(?:{_BLOB})*(?:re|fwd?) *(?:{_BLOB})?:| )", re.IGNORECASE)
_LEAD_BLOB: Final = re.compile(_BLOB)
# subj-fwd = subj-fwd-hdr subj-base subj-fwd-trl;  subj-fwd-hdr = "[fwd:", subj-fwd-trl = "]"
_FWD_HDR: Final = "[fwd:"
# i;ascii-casemap (RFC 4790 9.2): only a-z map to A-Z; everything else compares as is.
_UPPER: Final = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


@dataclass(frozen=True, slots=True)
class BaseSubject:
    """A base subject and whether the original marked the message a reply or forward."""

    text: str
    reply_or_forward: bool


def ascii_casemap(text: str) -> str:
    """The i;ascii-casemap comparison key of ``text`` (RFC 4790 9.2, RFC 5256 section 2.1).

    Python compares ``str`` by code point, which is the order of their UTF-8
    octets, so comparing the keys is comparing the octets after mapping
    ASCII letters to upper case.
    """
    return text.translate(_UPPER)


def _decoded(raw: str) -> str:
    """Step 1: RFC 2047 decoding and white space clean-up of a raw header value."""
    data = raw.encode("utf-8", "surrogateescape").replace(b"\r\n", b"").replace(b"\n", b"")
    # 8-bit bytes (surrogate-escaped by the store) read as UTF-8, else Latin-1, as
    # decode_2047 does for the text between encoded words.
    return _SPACES.sub(" ", decode_2047(data))


def extract_base_subject(raw: str | None) -> BaseSubject:
    """Apply RFC 5256 section 2.1 to a raw (undecoded, possibly folded) Subject value.

    Args:
        raw: the Subject header value as stored (ENVELOPE subject or the
            header cache's raw value); None when the message has none.

    Returns:
        The base subject (possibly empty) and the reply-or-forward mark.
    """
    if not raw:
        return BaseSubject("", False)
    text = _decoded(raw)
    refwd = False
    while True:
        # Step 2: trailing "(fwd)" and white space.
        while True:
            m = _TRAILER.search(text)
            if m is None:
                break
            if m.group(0) != " ":
                refwd = True
            text = text[: m.start()]
        # Steps 3-5: leaders and blobs until neither matches.
        changed = True
        while changed:
            changed = False
            while True:
                m = _LEADER.match(text)
                if m is None or not m.group(0):
                    break
                if m.group(0) != " ":
                    refwd = True
                text = text[m.end() :]
                changed = True
            m = _LEAD_BLOB.match(text)
            if m is not None and m.end() < len(text):
                # Step 4: only when a non-empty subj-base remains.
                text = text[m.end() :]
                changed = True
        # Step 6: "[fwd: ...]" wraps the whole text; unwrap and start over at step 2.
        if len(text) >= len(_FWD_HDR) + 1 and text[:5].lower() == _FWD_HDR and text[-1] == "]":
            text = text[len(_FWD_HDR) : -1]
            refwd = True
            continue
        return BaseSubject(text, refwd)


def base_subject(raw: str | None) -> str:
    """The RFC 5256 base subject of a raw Subject value (see :func:`extract_base_subject`)."""
    return extract_base_subject(raw).text
