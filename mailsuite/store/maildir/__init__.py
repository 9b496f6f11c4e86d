"""The Maildir++ store: Dovecot-compatible files, a self-healing SQLite index/cache.

Entry point: :func:`open_user_store`.
"""

from __future__ import annotations

from mailsuite.store.maildir.mailbox import MaildirMailbox
from mailsuite.store.maildir.store import MaildirStore, open_user_store

__all__ = ["MaildirMailbox", "MaildirStore", "open_user_store"]
