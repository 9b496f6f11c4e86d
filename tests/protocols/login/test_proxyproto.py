"""PROXY protocol v2 headers: what we send parses back; bad input is refused precisely."""

from __future__ import annotations

import struct

import pytest

from mailsuite.protocols.login.proxyproto import (
    MAX_HEADER_BYTES,
    SIGNATURE,
    NeedMore,
    ProxyHeader,
    ProxyProtocolError,
    encode_v2,
    parse_v2,
)


def test_ipv4_round_trip_with_tlvs() -> None:
    """Addresses, session ID, TLS flag and TTL survive encode and parse."""
    raw = encode_v2(("192.0.2.7", 50123), ("198.51.100.1", 143), unique_id="s1", ssl=True, ttl=4)
    header = parse_v2(raw + b"A1 LOGIN")
    assert isinstance(header, ProxyHeader)
    assert header.source == ("192.0.2.7", 50123)
    assert header.destination == ("198.51.100.1", 143)
    assert (header.unique_id, header.ssl, header.ttl, header.local) == ("s1", True, 4, False)
    assert header.consumed == len(raw)


def test_ipv6_round_trip() -> None:
    """IPv6 addresses use the 36-byte address block."""
    raw = encode_v2(("2001:db8::1", 1), ("2001:db8::2", 993))
    header = parse_v2(raw)
    assert isinstance(header, ProxyHeader)
    assert header.source == ("2001:db8::1", 1)
    assert raw[13] == 0x21  # AF_INET6 + STREAM


def test_mixed_families_become_unspec() -> None:
    """Unknown or mismatched addresses are sent as AF_UNSPEC: the backend keeps the real peer."""
    header = parse_v2(encode_v2(("192.0.2.1", 1), ("2001:db8::2", 2)))
    assert isinstance(header, ProxyHeader) and header.source is None
    header = parse_v2(encode_v2(None, None, unique_id="x"))
    assert isinstance(header, ProxyHeader) and header.unique_id == "x"


def test_header_fed_one_byte_at_a_time() -> None:
    """Every prefix of a header asks for more; the whole one parses."""
    raw = encode_v2(("10.1.2.3", 4000), ("10.0.0.1", 110), unique_id="abc")
    for i in range(len(raw)):
        assert isinstance(parse_v2(raw[:i]), NeedMore)
    assert isinstance(parse_v2(raw), ProxyHeader)


def test_plain_protocol_bytes_are_refused_at_once() -> None:
    """A client speaking IMAP at a PROXY port is told apart from its first byte."""
    with pytest.raises(ProxyProtocolError, match="signature"):
        parse_v2(b"a1 CAPABILITY\r\n")
    with pytest.raises(ProxyProtocolError, match="signature"):
        parse_v2(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n")  # v1 is not accepted


def test_local_command_has_no_addresses() -> None:
    """A LOCAL header (a health check) parses with local=True and no source."""
    raw = SIGNATURE + bytes([0x20, 0x00]) + struct.pack("!H", 0)
    header = parse_v2(raw)
    assert isinstance(header, ProxyHeader) and header.local and header.source is None


@pytest.mark.parametrize(
    ("ver_cmd", "fam", "body", "match"),
    [
        (0x10, 0x11, b"\0" * 12, "version"),
        (0x2F, 0x11, b"\0" * 12, "command"),
        (0x21, 0x51, b"\0" * 12, "family"),
        (0x21, 0x11, b"\0" * 5, "shorter"),
        (0x21, 0x11, b"\0" * 12 + b"\x05\x00\x09ab", "TLV"),
    ],
)
def test_malformed_headers_are_refused(ver_cmd: int, fam: int, body: bytes, match: str) -> None:
    """Bad version, command, family, address block or TLV each give a precise error."""
    raw = SIGNATURE + bytes([ver_cmd, fam]) + struct.pack("!H", len(body)) + body
    with pytest.raises(ProxyProtocolError, match=match):
        parse_v2(raw)


def test_oversized_header_is_refused_before_it_arrives() -> None:
    """A length field beyond the limit is refused without waiting for the bytes."""
    raw = SIGNATURE + bytes([0x21, 0x11]) + struct.pack("!H", MAX_HEADER_BYTES)
    with pytest.raises(ProxyProtocolError, match="exceeds"):
        parse_v2(raw)


def test_unique_id_longer_than_128_bytes_is_refused() -> None:
    """The spec limits UNIQUE_ID to 128 bytes; we never send more."""
    with pytest.raises(ValueError):
        encode_v2(("1.2.3.4", 1), ("1.2.3.4", 2), unique_id="x" * 129)
