"""The HAProxy PROXY protocol, version 2: encode and parse, sans-IO.

A front end opens its connection to a backend with this binary header so the
backend sees the real client address and the front end's session ID (a
``PP2_TYPE_UNIQUE_ID`` TLV) without any protocol-specific command. Layout
(haproxy ``doc/proxy-protocol.txt`` section 2.2): 12-byte signature, one
version/command byte, one family/transport byte, a 16-bit big-endian length,
the addresses, then type-length-value records.

Only a peer the backend trusts may send it; the parser is strict so that a
client talking to the wrong port is told apart after its first bytes.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass, field
from typing import Final

__all__ = [
    "MAX_HEADER_BYTES",
    "SIGNATURE",
    "TLV_MAILSUITE_TTL",
    "TLV_SSL",
    "TLV_UNIQUE_ID",
    "NeedMore",
    "ProxyHeader",
    "ProxyProtocolError",
    "encode_v2",
    "parse_v2",
]

SIGNATURE: Final = b"\r\n\r\n\x00\r\nQUIT\n"
_VERSION: Final = 0x20
_CMD_LOCAL: Final = 0x00
_CMD_PROXY: Final = 0x01
_AF_UNSPEC: Final = 0x00
_AF_INET: Final = 0x10
_AF_INET6: Final = 0x20
_AF_UNIX: Final = 0x30
_STREAM: Final = 0x01
_FIXED: Final = 16  # signature + ver/cmd + fam + length

TLV_UNIQUE_ID: Final = 0x05  # the front end's session ID (at most 128 bytes, section 2.2.5)
TLV_SSL: Final = 0x20  # the client used TLS (section 2.2.6)
TLV_MAILSUITE_TTL: Final = 0xE0  # 0xE0-0xEF are for applications (section 2.2.7): proxy TTL
_MAX_UNIQUE_ID_BYTES: Final = 128
# Real headers are a few hundred bytes; a bound keeps a stranger from making
# us buffer 64 KiB before we can tell them off.
MAX_HEADER_BYTES: Final = 1024


class ProxyProtocolError(ValueError):
    """The bytes are not a valid PROXY v2 header; the text says why (for the log)."""


@dataclass(frozen=True, slots=True)
class NeedMore:
    """The header is not complete yet."""


@dataclass(frozen=True)
class ProxyHeader:
    """A parsed header.

    Attributes:
        local: a LOCAL command (a health check from the proxy itself): use the
            connection's own addresses.
        source: the client's (ip, port), None when unknown.
        destination: the address the client connected to, None when unknown.
        tlvs: every TLV, type -> value (the last one wins on repeats).
        consumed: the header's length in bytes; the payload follows it.
    """

    local: bool
    source: tuple[str, int] | None
    destination: tuple[str, int] | None
    tlvs: dict[int, bytes] = field(default_factory=dict)
    consumed: int = 0

    @property
    def unique_id(self) -> str:
        return self.tlvs.get(TLV_UNIQUE_ID, b"").decode("ascii", "replace")

    @property
    def ttl(self) -> int | None:
        raw = self.tlvs.get(TLV_MAILSUITE_TTL)
        return raw[0] if raw is not None and len(raw) == 1 else None

    @property
    def ssl(self) -> bool:
        raw = self.tlvs.get(TLV_SSL)
        # PP2_CLIENT_SSL is bit 0 of the first byte (section 2.2.6).
        return bool(raw) and bool(raw[0] & 0x01)  # type: ignore[index]


def _tlv(kind: int, value: bytes) -> bytes:
    return struct.pack("!BH", kind, len(value)) + value


def encode_v2(
    source: tuple[str, int] | None,
    destination: tuple[str, int] | None,
    *,
    unique_id: str = "",
    ssl: bool = False,
    ttl: int | None = None,
) -> bytes:
    """A PROXY v2 header for a TCP connection from ``source`` to ``destination``.

    With either address unknown (or their families differing) the header
    says AF_UNSPEC with the PROXY command; the backend then keeps the real
    peer address.

    Raises:
        ValueError: an address is not an IP address, a port is out of range,
            or the unique ID is longer than 128 bytes.
    """
    body = b""
    fam = _AF_UNSPEC
    if source is not None and destination is not None:
        src = ipaddress.ip_address(source[0].split("%", 1)[0])
        dst = ipaddress.ip_address(destination[0].split("%", 1)[0])
        if src.version == 4 and isinstance(dst, ipaddress.IPv6Address) and dst.ipv4_mapped:
            dst = dst.ipv4_mapped
        if dst.version == 4 and isinstance(src, ipaddress.IPv6Address) and src.ipv4_mapped:
            src = src.ipv4_mapped
        for port in (source[1], destination[1]):
            if not 0 <= port <= 65535:
                raise ValueError(f"port out of range: {port}")
        if src.version == dst.version:
            fam = (_AF_INET if src.version == 4 else _AF_INET6) | _STREAM
            body = src.packed + dst.packed + struct.pack("!HH", source[1], destination[1])
    raw_id = unique_id.encode("ascii", "replace")
    if len(raw_id) > _MAX_UNIQUE_ID_BYTES:
        raise ValueError(f"unique ID longer than {_MAX_UNIQUE_ID_BYTES} bytes")
    if raw_id:
        body += _tlv(TLV_UNIQUE_ID, raw_id)
    if ssl:
        # client flags (PP2_CLIENT_SSL) + verify (0: verified or no cert), no sub-TLVs.
        body += _tlv(TLV_SSL, b"\x01" + struct.pack("!I", 0))
    if ttl is not None:
        body += _tlv(TLV_MAILSUITE_TTL, bytes([max(0, min(ttl, 255))]))
    return SIGNATURE + bytes([_VERSION | _CMD_PROXY, fam]) + struct.pack("!H", len(body)) + body


def _parse_tlvs(data: bytes) -> dict[int, bytes]:
    tlvs: dict[int, bytes] = {}
    pos = 0
    while pos < len(data):
        if len(data) - pos < 3:
            raise ProxyProtocolError("truncated TLV header")
        kind, length = struct.unpack_from("!BH", data, pos)
        pos += 3
        if pos + length > len(data):
            raise ProxyProtocolError(f"TLV 0x{kind:02x} runs past the header")
        tlvs[kind] = data[pos : pos + length]
        pos += length
    return tlvs


def parse_v2(data: bytes) -> ProxyHeader | NeedMore:
    """Parse the header at the start of ``data`` (anything after it is payload).

    Raises:
        ProxyProtocolError: the data cannot be a PROXY v2 header.
    """
    head = data[: len(SIGNATURE)]
    if head != SIGNATURE[: len(head)]:
        raise ProxyProtocolError("no PROXY v2 signature")
    if len(data) < _FIXED:
        return NeedMore()
    ver_cmd, fam = data[12], data[13]
    (length,) = struct.unpack_from("!H", data, 14)
    if ver_cmd & 0xF0 != _VERSION:
        raise ProxyProtocolError(f"unsupported version {ver_cmd >> 4}")
    command = ver_cmd & 0x0F
    if command not in (_CMD_LOCAL, _CMD_PROXY):
        raise ProxyProtocolError(f"unknown command {command}")
    if _FIXED + length > MAX_HEADER_BYTES:
        raise ProxyProtocolError(f"header of {_FIXED + length} bytes exceeds {MAX_HEADER_BYTES}")
    if len(data) < _FIXED + length:
        return NeedMore()
    body = data[_FIXED : _FIXED + length]
    consumed = _FIXED + length
    family, transport = fam & 0xF0, fam & 0x0F
    source = destination = None
    if family == _AF_INET:
        addr_len = 12
    elif family == _AF_INET6:
        addr_len = 36
    elif family == _AF_UNIX:
        addr_len = 216
    elif family == _AF_UNSPEC:
        addr_len = 0
    else:
        raise ProxyProtocolError(f"unknown address family 0x{family:02x}")
    if len(body) < addr_len:
        raise ProxyProtocolError("address block shorter than its family needs")
    if command == _CMD_PROXY and family in (_AF_INET, _AF_INET6) and transport == _STREAM:
        size = 4 if family == _AF_INET else 16
        src = ipaddress.ip_address(body[:size])
        dst = ipaddress.ip_address(body[size : 2 * size])
        sport, dport = struct.unpack_from("!HH", body, 2 * size)
        source, destination = (str(src), sport), (str(dst), dport)
    tlvs = _parse_tlvs(body[addr_len:])
    return ProxyHeader(command == _CMD_LOCAL, source, destination, tlvs, consumed)
