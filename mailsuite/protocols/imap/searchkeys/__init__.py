"""The SEARCH evaluator's parts: text matching, the per-message view, the compiler.

:mod:`mailsuite.protocols.imap.search` is the entry point; SORT and THREAD
(RFC 5256) can reuse :class:`~.view.MessageView` (sent date, decoded headers).
"""

from __future__ import annotations

from .compile import COST_BODY, COST_HEADER, COST_RECORD, SearchEnv, compile_key
from .view import HeaderCache, MessageView, header_cache_for

__all__ = [
    "COST_BODY",
    "COST_HEADER",
    "COST_RECORD",
    "HeaderCache",
    "MessageView",
    "SearchEnv",
    "compile_key",
    "header_cache_for",
]
