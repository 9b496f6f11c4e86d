"""Dovecot's ``subscriptions`` file.

Version 2 (Dovecot 2.2+) starts with ``V<TAB>2`` and an empty line; each
following line is one subscribed name with its levels separated by a TAB
and each level in modified UTF-7, e.g. ``Foo<TAB>B&AOQ-r`` for "Foo.Bär".
Older files (Courier, Dovecot 1.x) list one name per line with the
hierarchy delimiter; both are read, version 2 is written.
"""

from __future__ import annotations

import os

from mailsuite.store.api import HIERARCHY_DELIMITER
from mailsuite.store.maildir.locks import atomic_write
from mailsuite.util.utf7 import MUTF7Error, decode_mutf7, encode_mutf7

__all__ = ["SUBSCRIPTIONS_FILE", "read_subscriptions", "write_subscriptions"]

SUBSCRIPTIONS_FILE = "subscriptions"


def _decode(levels: list[str]) -> str | None:
    try:
        return HIERARCHY_DELIMITER.join(decode_mutf7(level) for level in levels)
    except MUTF7Error:
        return None


def read_subscriptions(root: str) -> list[str]:
    """Subscribed names in file order, without duplicates or undecodable lines."""
    try:
        with open(os.path.join(root, SUBSCRIPTIONS_FILE), encoding="utf-8", errors="replace") as f:
            lines = f.read().split("\n")
    except FileNotFoundError:
        return []
    out: list[str] = []
    if lines and lines[0].startswith("V\t"):
        body = lines[lines.index("") + 1 :] if "" in lines else []
        names = [_decode(line.split("\t")) for line in body if line]
    else:
        names = [_decode(line.split(HIERARCHY_DELIMITER)) for line in lines if line]
    for n in names:
        if n is not None and n not in out:
            out.append(n)
    return out


def write_subscriptions(root: str, names: list[str]) -> None:
    """Replace the file atomically (temp file + rename)."""
    path = os.path.join(root, SUBSCRIPTIONS_FILE)
    lines = ["V\t2", ""]
    lines += ["\t".join(encode_mutf7(lv) for lv in n.split(HIERARCHY_DELIMITER)) for n in names]
    atomic_write(path, ("\n".join(lines) + "\n").encode("ascii"))
