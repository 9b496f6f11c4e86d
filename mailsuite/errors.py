"""Protocol-neutral errors, mapped to IMAP/POP3/LMTP answers by each protocol.

Modelled on Dovecot's ``enum mail_error``: the domain says *what kind* of
failure happened, each protocol decides how to say it on the wire. Messages
meant for clients never reveal internals (paths, whether another user's
mailbox exists); the admin-facing detail goes into ``detail`` for the log.
"""

from __future__ import annotations

import enum

__all__ = ["ErrorKind", "MailError", "ConfigError"]


class ErrorKind(enum.Enum):
    TEMP = "temp"  # temporary failure: try again later (disk error, lock timeout)
    NOT_POSSIBLE = "not-possible"  # the operation can never succeed on this object
    PARAMS = "params"  # bad arguments (bad mailbox name, bad flags)
    PERM = "perm"  # permission denied
    NO_QUOTA = "no-quota"  # over quota
    NOT_FOUND = "not-found"  # mailbox or message does not exist
    EXISTS = "exists"  # mailbox already exists
    EXPUNGED = "expunged"  # message was expunged by someone else
    IN_USE = "in-use"  # locked by another session (POP3)
    LIMIT = "limit"  # a configured limit was hit
    CORRUPTED = "corrupted"  # damaged file detected (logged, repaired where possible)


class MailError(Exception):
    """A failure of a mail operation, with a neutral kind and a client-safe text.

    Args:
        kind: what kind of failure this is.
        message: text safe to show to a client.
        detail: text for the admin's log (may name paths and users).
    """

    def __init__(self, kind: ErrorKind, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.detail = detail if detail is not None else message

    def __repr__(self) -> str:
        return f"MailError({self.kind.value}, {self.message!r})"


class ConfigError(Exception):
    """The configuration cannot be used; the text is one line naming key or path and problem."""
