"""ENVELOPE and BODYSTRUCTURE data from a parsed MIME tree (RFC 3501 section 7.4.2).

The values match what Dovecot 2.3 sends, so a client moving between the two
sees the same structures: types and parameter names keep the case of the
header, ``text/*`` bodies get ``charset=us-ascii`` when they name none (RFC
2045 section 5.2), a multipart that has no parts shows one empty text/plain
part (the grammar needs at least one), and subjects and display names are
cleaned "for humans" (tabs and runs of white space become one space).
"""

from __future__ import annotations

from mailsuite.message.address import parse_address_list
from mailsuite.message.headers import HeaderBlock, decode_raw, for_humans, no_lf
from mailsuite.message.mime import Part
from mailsuite.message.model import Address, BodyStructure, Disposition, Envelope, Params
from mailsuite.message.params import Pairs, parse_disposition, parse_language, parse_token

__all__ = ["EMPTY_TEXT_PART", "build_bodystructure", "build_envelope"]

# What Dovecot shows for a multipart without parts: a 0-byte text/plain body.
EMPTY_TEXT_PART = BodyStructure(
    type="text", subtype="plain", params=(("charset", "us-ascii"),), size=0, lines=0
)


def _nstring(header: HeaderBlock, name: str) -> str | None:
    raw = header.first(name)
    if raw is None:
        return None
    return no_lf(decode_raw(raw))


def build_envelope(header: HeaderBlock) -> Envelope:
    """Build the ENVELOPE of a message from its header."""
    raw_subject = header.first("subject")
    subject = None if raw_subject is None else for_humans(decode_raw(raw_subject))

    def addrs(name: str) -> tuple[Address, ...] | None:
        # Several fields of one name (seen in the wild) are read as one list, as Dovecot does.
        raws = header.raw_values(name)
        if not raws:
            return None
        return parse_address_list(decode_raw(b",".join(raws)).replace("\x00", "\ufffd"))

    from_ = addrs("from")
    sender = addrs("sender")
    reply_to = addrs("reply-to")
    # RFC 3501 section 7.4.2: absent or empty Sender/Reply-To take From's value.
    return Envelope(
        date=_nstring(header, "date"),
        subject=subject,
        from_=from_,
        sender=sender if sender is not None else from_,
        reply_to=reply_to if reply_to is not None else from_,
        to=addrs("to"),
        cc=addrs("cc"),
        bcc=addrs("bcc"),
        in_reply_to=_nstring(header, "in-reply-to"),
        message_id=_nstring(header, "message-id"),
    )


def _params(pairs: Pairs) -> Params | None:
    return tuple((no_lf(k), no_lf(v)) for k, v in pairs) or None


def _extension(
    header: HeaderBlock,
) -> tuple[Disposition | None, tuple[str, ...] | None, str | None]:
    disposition: Disposition | None = None
    raw = header.first("content-disposition")
    if raw is not None:
        parsed = parse_disposition(decode_raw(raw))
        if parsed is not None:
            disposition = (parsed[0], _params(parsed[1]))
    language = None
    raw = header.first("content-language")
    if raw is not None:
        language = parse_language(decode_raw(raw)) or None
    return disposition, language, _nstring(header, "content-location")


def build_bodystructure(part: Part) -> BodyStructure:
    """Build the BODYSTRUCTURE of an entity (the message itself or a part)."""
    header = part.header
    disposition, language, location = _extension(header)
    if part.is_multipart:
        children = tuple(build_bodystructure(c) for c in part.children) or (EMPTY_TEXT_PART,)
        return BodyStructure(
            type=part.type,
            subtype=part.subtype,
            params=_params(part.params),
            parts=children,
            disposition=disposition,
            language=language,
            location=location,
        )
    params = list(part.params)
    is_text = part.type.lower() == "text"
    if is_text and not any(k.lower() == "charset" for k, _ in params):
        # RFC 2045 section 5.2: the default charset is US-ASCII.
        params.append(("charset", "us-ascii"))
    raw_cte = header.first("content-transfer-encoding")
    encoding = parse_token(decode_raw(raw_cte)) if raw_cte is not None else None
    size = part.end - part.body_start
    lines = None
    envelope = None
    body = None
    if is_text or part.message is not None:
        lines = part.buf.count(b"\n", part.body_start, part.end)
    if part.message is not None:
        envelope = build_envelope(part.message.header)
        body = build_bodystructure(part.message)
    mtype, subtype = part.type, part.subtype
    if part.message is not None:
        mtype, subtype = "message", "rfc822"  # Dovecot writes these in lower case
    return BodyStructure(
        type=mtype,
        subtype=subtype,
        params=_params(params),
        id=_nstring(header, "content-id"),
        description=_nstring(header, "content-description"),
        encoding=encoding or "7bit",
        size=size,
        lines=lines,
        envelope=envelope,
        body=body,
        md5=_nstring(header, "content-md5"),
        disposition=disposition,
        language=language,
        location=location,
    )
