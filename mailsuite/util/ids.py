"""Session ids for log lines: short, unique within a process, distinct across processes."""

from __future__ import annotations

import itertools
import os

__all__ = ["session_id"]

_ids = itertools.count(1)
_PREFIX = os.urandom(3).hex()


def session_id(marker: str = "") -> str:
    """A new id; ``marker`` tells apart ids made by another role (the front end uses "p")."""
    return f"{_PREFIX}{marker}{next(_ids):x}"
