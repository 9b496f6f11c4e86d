"""The one error type of the Sieve package.

Every problem, whether found while compiling (a syntax error, an unknown
``require`` capability, a wrong argument) or while running (conflicting
actions, too many redirects), is a :class:`SieveError` that names the script
and the line, so an admin reads it like a compiler message.
"""

from __future__ import annotations

__all__ = ["SieveError"]


class SieveError(Exception):
    """A Sieve script could not be compiled or run.

    ``str(error)`` is ``path:line: message``, the form compilers use, so
    editors and admins can jump to the line.

    Args:
        message: what is wrong, without path or line.
        path: the script's path (``"<script>"`` when it has none).
        line: the 1-based line the problem was found on (0 when unknown).
        errors: every error found, when a compile pass collected more than
            one; this error is the first of them.
    """

    def __init__(
        self,
        message: str,
        path: str = "<script>",
        line: int = 0,
        errors: tuple[SieveError, ...] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.errors: tuple[SieveError, ...] = errors or (self,)

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"

    def __repr__(self) -> str:
        return f"SieveError({self.path!r}, {self.line}, {self.message!r})"
