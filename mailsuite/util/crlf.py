"""Bare LF to CRLF, for whole buffers and for streams read in pieces.

Shared by ``mailsuite.message`` (every size and byte it returns is in CRLF
form) and the POP3 wire encoder (RETR/TOP send CRLF lines, RFC 1939
section 3). Dovecot's rule for odd input: a bare LF becomes CRLF, a lone CR
(not followed by LF) stays as it is, so text already in CRLF form is never
changed. Byte mappings beyond line ends (IMAP's NUL) are the caller's.
"""

from __future__ import annotations

__all__ = ["CrlfStream", "lf_to_crlf"]


def lf_to_crlf(data: bytes) -> bytes:
    """``data`` with every bare LF turned into CRLF; CRLF and lone CR kept.

    Returns ``data`` itself when nothing changes. Counting first makes the
    usual stored forms (all LF, all CRLF) cost one C-level pass or none.
    """
    if b"\r" not in data:
        # The Maildir case: LF only.
        return data.replace(b"\n", b"\r\n") if b"\n" in data else data
    lf = data.count(b"\n")
    if lf == 0:
        return data
    crlf = data.count(b"\r\n")
    if crlf == lf:
        return data
    if crlf == 0:
        return data.replace(b"\n", b"\r\n")
    # Mixed: collapse CRLF to LF first so every LF gets exactly one CR.
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


class CrlfStream:
    """``lf_to_crlf`` over a stream: any split into pieces gives the same output.

    A piece ending in CR is held back until the next piece shows whether an
    LF follows, so a CRLF split across two reads stays one CRLF.
    """

    def __init__(self) -> None:
        self.held_cr = False

    def feed(self, data: bytes) -> bytes:
        """The CRLF form of the next piece (possibly empty while a CR is held)."""
        if self.held_cr:
            data = b"\r" + data
            self.held_cr = False
        if data.endswith(b"\r"):
            data = data[:-1]
            self.held_cr = True
        return lf_to_crlf(data)

    def finish(self) -> bytes:
        """What is still held at the end of the stream (a lone CR, or nothing)."""
        if self.held_cr:
            self.held_cr = False
            return b"\r"
        return b""
