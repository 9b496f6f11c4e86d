"""The actions a script decides on, and how a run's actions become the result.

The delivery code acts on these (contract in ``/work/shared/contracts.md``):
``Keep`` and ``FileInto`` store the message, ``Redirect`` resends it,
``Reject`` refuses it, ``Vacation`` answers the sender, ``Discard`` says the
message was dropped on purpose.

:class:`ActionCollector` applies RFC 5228 2.10: which actions cancel the
implicit keep (2.10.2), that the same delivery is done once (2.10.3), and
which actions cannot be combined (RFC 5429 2.3, RFC 5230 4.7).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mailsuite.sieve.errors import SieveError

__all__ = [
    "Action",
    "ActionCollector",
    "Discard",
    "FileInto",
    "Keep",
    "Redirect",
    "Reject",
    "Vacation",
]


@dataclass(frozen=True, slots=True)
class Keep:
    """Store the message in INBOX with these IMAP flags."""

    flags: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Discard:
    """The script dropped the message on purpose and nothing else stores it."""


@dataclass(frozen=True, slots=True)
class FileInto:
    """Store the message in ``mailbox`` (created first when ``create``, RFC 5490 3.2)."""

    mailbox: str
    flags: frozenset[str] = frozenset()
    create: bool = False


@dataclass(frozen=True, slots=True)
class Redirect:
    """Resend the message unchanged to ``address`` (RFC 5228 4.2)."""

    address: str


@dataclass(frozen=True, slots=True)
class Reject:
    """Refuse the message (RFC 5429); ``extended``: ereject, refuse in protocol when possible."""

    reason: str
    extended: bool = False


@dataclass(frozen=True, slots=True)
class Vacation:
    """Answer the sender (RFC 5230), already checked to be allowed by the message alone.

    Whether this sender was answered within ``days_s`` under ``handle`` is for
    the delivery code to check and remember.

    Args:
        recipient: whom to answer (the envelope sender).
        subject: the reply's subject (``:subject`` or "Auto: " + the original's).
        body: the reason text; a whole MIME entity when ``mime``.
        from_addr: the ``:from`` address (may carry a phrase) or None.
        days_s: how long not to answer this sender again, in seconds.
        handle: the key under which answers are remembered.
        mime: ``body`` is a MIME part with its own headers.
        addresses: the ``:addresses`` of the script.
        own_address: the recipient's address as the message's To/Cc/... named
            it; the natural From of the answer when ``from_addr`` is None.
    """

    recipient: str
    subject: str
    body: str
    from_addr: str | None
    days_s: int
    handle: str
    mime: bool
    addresses: tuple[str, ...]
    own_address: str = ""


Action = Keep | Discard | FileInto | Redirect | Reject | Vacation


def _union(a: frozenset[str], b: frozenset[str]) -> frozenset[str]:
    seen = {f.lower() for f in a}
    return a | frozenset(f for f in b if f.lower() not in seen)


@dataclass(slots=True)
class ActionCollector:
    """Collects one run's actions and resolves them (RFC 5228 2.10).

    Args:
        path: the script path, for runtime errors.
        max_redirects: distinct redirect addresses allowed.
        max_actions: actions allowed in total.
    """

    path: str
    max_redirects: int
    max_actions: int
    implicit_keep: bool = True
    discarded: bool = False
    # Where (script path, line) a keep/fileinto/redirect, a reject and a
    # vacation first ran: reject conflicts with the others.
    delivery_at: tuple[str, int] | None = None
    reject_at: tuple[str, int] | None = None
    vacation_at: tuple[str, int] | None = None
    _actions: list[Action] = field(default_factory=list)

    def error(self, message: str, line: int) -> SieveError:
        return SieveError(message, self.path, line)

    def _where(self, at: tuple[str, int]) -> str:
        """'line N' in the current script, 'path:N' in another (before/after scripts)."""
        return f"line {at[1]}" if at[0] == self.path else f"{at[0]}:{at[1]}"

    def _delivered(self, line: int) -> None:
        if self.delivery_at is None:
            self.delivery_at = (self.path, line)

    def _add(self, action: Action, line: int) -> None:
        # RFC 5228 2.10.3: the same delivery twice is done once. The later
        # action's flags win, as in Pigeonhole (scripts move over unchanged);
        # :create sticks once asked for, so the store never fails for want of it.
        for i, old in enumerate(self._actions):
            if isinstance(old, Keep) and isinstance(action, Keep):
                self._actions[i] = action
                return
            if (
                isinstance(old, FileInto)
                and isinstance(action, FileInto)
                and old.mailbox == action.mailbox
            ):
                self._actions[i] = FileInto(old.mailbox, action.flags, old.create or action.create)
                return
            if old == action:
                return
        if len(self._actions) >= self.max_actions:
            raise self.error(f"too many actions (the limit is {self.max_actions})", line)
        self._actions.append(action)

    def keep(self, flags: frozenset[str], line: int) -> None:
        self.implicit_keep = False
        self._delivered(line)
        self._add(Keep(flags), line)

    def fileinto(
        self, mailbox: str, flags: frozenset[str], create: bool, copy: bool, line: int
    ) -> None:
        # RFC 3894 3: with :copy the implicit keep stays as it was.
        if not copy:
            self.implicit_keep = False
        self._delivered(line)
        # RFC 5228 2.10.3: keep is fileinto "INBOX"; do them once.
        if mailbox.upper() == "INBOX":
            self._add(Keep(flags), line)
        else:
            self._add(FileInto(mailbox, flags, create), line)

    def redirect(self, address: str, copy: bool, line: int) -> None:
        if not copy:
            self.implicit_keep = False
        self._delivered(line)
        action = Redirect(address)
        if action not in self._actions:
            count = sum(1 for a in self._actions if isinstance(a, Redirect))
            if count >= self.max_redirects:
                raise self.error(
                    f"too many redirects (the limit is {self.max_redirects} per message)", line
                )
        self._add(action, line)

    def discard(self) -> None:
        self.implicit_keep = False
        self.discarded = True

    def reject(self, reason: str, extended: bool, line: int) -> None:
        if self.reject_at is not None:
            raise self.error(
                "only one reject/ereject per message "
                f"(the first ran on {self._where(self.reject_at)})",
                line,
            )
        self.implicit_keep = False
        self.reject_at = (self.path, line)
        self._add(Reject(reason, extended), line)

    def vacation(self, action: Vacation | None, line: int) -> None:
        # RFC 5230 4.7 / RFC 5429 2.3: at most one vacation, and not with reject.
        if self.vacation_at is not None:
            raise self.error(
                f"only one vacation per message (the first ran on {self._where(self.vacation_at)})",
                line,
            )
        self.vacation_at = (self.path, line)
        if action is not None:
            self._add(action, line)

    def result(self, flags: frozenset[str]) -> list[Action]:
        """The final actions, with the implicit keep (RFC 5228 2.10.2) applied.

        Args:
            flags: the internal flags variable at the end of the run (RFC 5232 5:
                the implicit keep stores the message with them).

        Raises:
            SieveError: reject was combined with an action it conflicts with.
        """
        if self.reject_at is not None:
            path, line = self.reject_at
            self.path = path  # the error is the reject's, in its own script
            if self.vacation_at is not None:
                raise self.error(
                    f"reject cannot be combined with vacation ({self._where(self.vacation_at)})",
                    line,
                )
            if self.delivery_at is not None:
                raise self.error(
                    "reject cannot be combined with keep, fileinto or redirect "
                    f"({self._where(self.delivery_at)})",
                    line,
                )
        actions = list(self._actions)
        if self.implicit_keep:
            # A ":copy" keep of INBOX and the implicit keep are one delivery;
            # it carries both sets of flags rather than lose one.
            merged = False
            for i, a in enumerate(actions):
                if isinstance(a, Keep):
                    actions[i] = Keep(_union(a.flags, flags))
                    merged = True
            if not merged:
                actions.append(Keep(flags))
        if self.discarded and not any(
            isinstance(a, Keep | FileInto | Redirect | Reject) for a in actions
        ):
            actions.append(Discard())
        return actions
