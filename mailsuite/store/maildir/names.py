"""Mailbox names <-> Maildir++ directory names, refusing anything hostile.

INBOX is the user's root; every other mailbox ``A.B`` lives in the root as
the directory ``.A.B`` with each level in modified UTF-7 (RFC 3501 section
5.1.3), as Dovecot stores them, so Dovecot and mailsuite agree on disk.
A name can never reach outside the root: the checks below run on the
Unicode name and again on the encoded directory name.
"""

from __future__ import annotations

from mailsuite.errors import ErrorKind, MailError
from mailsuite.store.api import HIERARCHY_DELIMITER, INBOX
from mailsuite.util.utf7 import MUTF7Error, decode_mutf7, encode_mutf7

__all__ = ["MAX_NAME_LEVELS", "MAX_DIR_NAME_BYTES", "normalize_name", "dir_name", "name_from_dir"]

MAX_NAME_LEVELS = 16  # deeper hierarchies are refused (Dovecot: mailbox_list_... 16 by default)
MAX_DIR_NAME_BYTES = 255  # NAME_MAX of every Linux file system we run on
# Characters no level may contain: the path separator, NUL and the IMAP
# LIST wildcards (a mailbox named "*" could never be listed on its own).
_FORBIDDEN = frozenset("/\\*%\x00")


def _bad(name: str, why: str) -> MailError:
    return MailError(
        ErrorKind.PARAMS, f"Invalid mailbox name: {why}", f"mailbox name {name!r} refused: {why}"
    )


def normalize_name(name: str) -> str:
    """Check a mailbox name and return its canonical form ("inbox" -> "INBOX").

    Raises:
        MailError: PARAMS for an empty name, empty levels, leading or trailing
            delimiters, control characters, "/", NUL, wildcards, "." or ".."
            levels, a name too deep or too long for the file system.
    """
    if not isinstance(name, str) or name == "":
        raise _bad(str(name), "empty name")
    if name.upper() == INBOX:
        return INBOX
    if name.startswith(HIERARCHY_DELIMITER) or name.endswith(HIERARCHY_DELIMITER):
        raise _bad(name, "begins or ends with the hierarchy delimiter")
    levels = name.split(HIERARCHY_DELIMITER)
    if len(levels) > MAX_NAME_LEVELS:
        raise _bad(name, f"more than {MAX_NAME_LEVELS} hierarchy levels")
    for level in levels:
        if level == "":
            raise _bad(name, "empty hierarchy level")
        if level in (".", ".."):
            raise _bad(name, "'.' or '..' level")
        for ch in level:
            o = ord(ch)
            if o < 0x20 or o == 0x7F or 0x80 <= o < 0xA0 or ch in _FORBIDDEN:
                raise _bad(name, f"contains the character U+{o:04X}")
            if 0xD800 <= o <= 0xDFFF:
                raise _bad(name, "contains a lone surrogate")
        if level.strip() == "":
            raise _bad(name, "blank hierarchy level")
    if levels[0].upper() == INBOX:
        # "inbox.x" and "INBOX.x" must be one mailbox: the INBOX prefix is case-insensitive.
        levels[0] = INBOX
    d = "." + HIERARCHY_DELIMITER.join(encode_mutf7(level) for level in levels)
    if len(d.encode("ascii")) > MAX_DIR_NAME_BYTES:
        raise _bad(name, "too long")
    return HIERARCHY_DELIMITER.join(levels)


def dir_name(name: str) -> str:
    """The directory (relative to the user's root) of a checked mailbox name; "" for INBOX."""
    name = normalize_name(name)
    if name == INBOX:
        return ""
    encoded = "." + HIERARCHY_DELIMITER.join(
        encode_mutf7(level) for level in name.split(HIERARCHY_DELIMITER)
    )
    # Defence in depth: the encoded form is a single path component, never special.
    if "/" in encoded or "\x00" in encoded or encoded in (".", ".."):
        raise _bad(name, "would escape the mail root")
    return encoded


def name_from_dir(dirname: str) -> str | None:
    """The mailbox name of a ``.Name`` directory, or None when it is not a valid one."""
    if not dirname.startswith(".") or dirname in (".", ".."):
        return None
    try:
        levels = [decode_mutf7(level) for level in dirname[1:].split(HIERARCHY_DELIMITER)]
        name = HIERARCHY_DELIMITER.join(levels)
        if normalize_name(name) != name:
            return None
    except (MUTF7Error, MailError):
        return None
    return name
