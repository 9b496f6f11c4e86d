"""MD5 with an exposed internal state, for Dovecot's ``{CRAM-MD5}`` password scheme.

Dovecot stores a CRAM-MD5 secret as the two HMAC-MD5 intermediate states
(RFC 2104 §4: the MD5 state after the key XOR opad block and after the key XOR
ipad block), so it can answer RFC 2195 challenges without keeping the
plaintext. hashlib does not expose MD5's chaining values, so this module holds
the RFC 1321 compression function (and nothing else): it is only used on the
fixed 64-byte pad blocks and the short continuation that follows.
"""

from __future__ import annotations

import math
import struct

__all__ = ["MD5_INITIAL_STATE", "md5_compress", "md5_continue"]

MD5_INITIAL_STATE: tuple[int, int, int, int] = (0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476)

# RFC 1321 §3.4: T[i] = floor(2^32 * abs(sin(i))), i = 1..64.
_T = [int(abs(math.sin(i + 1)) * 2**32) & 0xFFFFFFFF for i in range(64)]
_S = [7, 12, 17, 22] * 4 + [5, 9, 14, 20] * 4 + [4, 11, 16, 23] * 4 + [6, 10, 15, 21] * 4
_MASK = 0xFFFFFFFF


def _rotl(x: int, n: int) -> int:
    return ((x << n) | (x >> (32 - n))) & _MASK


def md5_compress(state: tuple[int, int, int, int], block: bytes) -> tuple[int, int, int, int]:
    """Run the MD5 compression function on one 64-byte block (RFC 1321 §3.4)."""
    if len(block) != 64:
        raise ValueError("MD5 block must be 64 bytes")
    x = struct.unpack("<16I", block)
    a, b, c, d = state
    for i in range(64):
        if i < 16:
            f, g = (b & c) | (~b & d), i
        elif i < 32:
            f, g = (d & b) | (~d & c), (5 * i + 1) % 16
        elif i < 48:
            f, g = b ^ c ^ d, (3 * i + 5) % 16
        else:
            f, g = c ^ (b | (~d & _MASK)), (7 * i) % 16
        f = (f + a + _T[i] + x[g]) & _MASK
        a, d, c = d, c, b
        b = (b + _rotl(f, _S[i])) & _MASK
    return (
        (state[0] + a) & _MASK,
        (state[1] + b) & _MASK,
        (state[2] + c) & _MASK,
        (state[3] + d) & _MASK,
    )


def md5_continue(state: tuple[int, int, int, int], done_bytes: int, data: bytes) -> bytes:
    """Finish an MD5 digest that already consumed ``done_bytes`` (a multiple of 64).

    Args:
        state: chaining values after the first ``done_bytes`` bytes.
        done_bytes: how many bytes the state already covers.
        data: the rest of the message.

    Returns:
        The 16-byte MD5 digest of the whole message.
    """
    total = done_bytes + len(data)
    # RFC 1321 §3.1-3.2: pad with 0x80, zeros to 56 mod 64, then the bit length.
    msg = data + b"\x80" + b"\x00" * ((55 - len(data)) % 64) + struct.pack("<Q", total * 8)
    for off in range(0, len(msg), 64):
        state = md5_compress(state, msg[off : off + 64])
    return struct.pack("<4I", *state)
