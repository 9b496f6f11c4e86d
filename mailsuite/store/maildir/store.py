"""All mailboxes of one user in a Maildir++ tree (implements ``MailStore``).

The user's root is INBOX; folder ``A.B`` is the directory ``.A.B`` (levels
in modified UTF-7), with a ``maildirfolder`` marker file as Maildir++ asks.
Subscriptions are Dovecot's ``subscriptions`` file (version 2), UIDVALIDITY
values come from Dovecot's ``dovecot-uidvalidity`` counter, quota is the
Maildir++ ``maildirsize`` file; an admin may move the tree between Dovecot
and mailsuite in either direction.
"""

from __future__ import annotations

import os
import secrets
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping

from mailsuite.errors import ErrorKind, MailError
from mailsuite.store.api import HIERARCHY_DELIMITER, INBOX, ChangeNotifier, MailboxInfo, QuotaUsage
from mailsuite.store.maildir.core import MailboxCore, default_log
from mailsuite.store.maildir.filenames import NameGenerator
from mailsuite.store.maildir.locks import atomic_write
from mailsuite.store.maildir.mailbox import MaildirMailbox
from mailsuite.store.maildir.names import dir_name, name_from_dir, normalize_name
from mailsuite.store.maildir.quota import MaildirSize
from mailsuite.store.maildir.subscriptions import read_subscriptions, write_subscriptions

__all__ = ["MaildirStore", "open_user_store"]

UIDVALIDITY_FILE = "dovecot-uidvalidity"
SPECIAL_USE_FILE = "mailsuite-special-use"
_IDLE_CORES_KEPT = 64  # closed mailboxes whose records stay in memory for a quick reopen
_IDLE_ROWS_KEPT = 200_000  # ... as long as they hold no more messages than this in total

# One generator per process: its counter keeps names unique between stores of one user.
_NAMES = NameGenerator()
_registry_lock = threading.Lock()
_cores: dict[str, tuple[MailboxCore, int]] = {}
_idle: OrderedDict[str, MailboxCore] = OrderedDict()


def _make_dirs(path: str) -> None:
    for sub in ("cur", "new", "tmp"):
        sub_path = os.path.join(path, sub)
        if not os.path.isdir(sub_path):  # one stat in the common case
            os.makedirs(sub_path, mode=0o700, exist_ok=True)


class MaildirStore:
    """The mailboxes of one user. Thread-safe; several processes may share a root."""

    def __init__(
        self,
        root: str,
        *,
        user: str,
        quota_storage_bytes: int = 0,
        quota_messages: int = 0,
        special_use: Mapping[str, str] | None = None,
        notifier: ChangeNotifier | None = None,
        fsync: bool = True,
        log: Callable[[str], None] = default_log,
        names: NameGenerator | None = None,
    ) -> None:
        self._root = os.path.abspath(root)
        self._user = user
        self._fsync = fsync
        self._log = log
        self._notifier = notifier
        self._names = names or _NAMES
        self._quota = MaildirSize(self._root, quota_storage_bytes, quota_messages)
        self._special_cfg = {normalize_name(k): v for k, v in (special_use or {}).items()}
        self._lock = threading.Lock()
        try:
            _make_dirs(self._root)
        except OSError as e:
            raise MailError(
                ErrorKind.TEMP,
                "Internal error occurred. Refer to server log for more information.",
                f"cannot create mail root {self._root} for user {user}: {e.strerror}",
            ) from None
        for name, attr in self._special_cfg.items():
            # RFC 6154 folders are made on first access, as Dovecot's "auto = subscribe".
            if name != INBOX and not os.path.isdir(os.path.join(self._root, dir_name(name))):
                try:
                    self.create_mailbox(name, attr)
                    self.subscribe(name)
                except MailError as e:
                    if e.kind is not ErrorKind.EXISTS:
                        raise

    @property
    def user(self) -> str:
        return self._user

    @property
    def root(self) -> str:
        return self._root

    def _where(self, name: str = "") -> str:
        return f"user={self._user} mailbox={name!r} root={self._root}"

    # ------------------------------------------------------------ mailboxes
    def _path(self, name: str) -> str:
        return os.path.join(self._root, dir_name(name))

    def _exists(self, name: str) -> bool:
        return os.path.isdir(os.path.join(self._path(name), "cur"))

    def _special_uses(self) -> dict[str, str]:
        out = dict(self._special_cfg)
        try:
            with open(os.path.join(self._root, SPECIAL_USE_FILE), encoding="utf-8") as f:
                for line in f:
                    attr, _, name = line.rstrip("\n").partition("\t")
                    if name and attr:
                        out[name] = attr
        except FileNotFoundError:
            pass
        return out

    def _set_special_use(self, name: str, attr: str | None) -> None:
        current = self._special_uses()
        stored = {k: v for k, v in current.items() if self._special_cfg.get(k) != v}
        if attr is None:
            stored.pop(name, None)
        else:
            stored[name] = attr
        data = "".join(f"{a}\t{n}\n" for n, a in sorted(stored.items()))
        atomic_write(os.path.join(self._root, SPECIAL_USE_FILE), data.encode("utf-8"))

    def list_mailboxes(self) -> list[MailboxInfo]:
        names = {INBOX}
        noselect: set[str] = set()
        with os.scandir(self._root) as it:
            for e in it:
                name = name_from_dir(e.name)
                if name is None or not e.is_dir():
                    continue
                names.add(name)
                if not os.path.isdir(os.path.join(e.path, "cur")):
                    noselect.add(name)
        # RFC 3501 6.3.8: a parent that does not exist is listed as \Noselect.
        for name in list(names):
            levels = name.split(HIERARCHY_DELIMITER)
            for i in range(1, len(levels)):
                parent = HIERARCHY_DELIMITER.join(levels[:i])
                if parent not in names:
                    names.add(parent)
                    noselect.add(parent)
        specials = self._special_uses()
        parents = {n.rsplit(HIERARCHY_DELIMITER, 1)[0] for n in names if HIERARCHY_DELIMITER in n}
        out = []
        for name in sorted(names, key=lambda n: (n != INBOX, n)):
            attrs = {"\\HasChildren" if name in parents else "\\HasNoChildren"}
            if name in noselect:
                attrs.add("\\Noselect")
            su = specials.get(name)
            if su:
                attrs.add(su)
            out.append(MailboxInfo(name, frozenset(attrs), su))
        return out

    def create_mailbox(self, name: str, special_use: str | None = None) -> None:
        name = normalize_name(name)
        if name == INBOX or self._exists(name):
            raise MailError(ErrorKind.EXISTS, "Mailbox already exists", self._where(name))
        path = self._path(name)
        if os.path.isdir(path):
            _make_dirs(path)  # a \Noselect leftover becomes a real mailbox
        else:
            # Build it under a hidden name, then rename: others see all of it or nothing.
            tmp = os.path.join(self._root, f"..mailsuite-create-{secrets.token_hex(6)}")
            _make_dirs(tmp)
            open(os.path.join(tmp, "maildirfolder"), "wb").close()
            try:
                os.rename(tmp, path)
            except OSError:
                shutil.rmtree(tmp, ignore_errors=True)
                raise MailError(
                    ErrorKind.EXISTS, "Mailbox already exists", self._where(name)
                ) from None
        if special_use and special_use != self._special_cfg.get(name):
            self._set_special_use(name, special_use)

    def delete_mailbox(self, name: str) -> None:
        name = normalize_name(name)
        if name == INBOX:
            raise MailError(ErrorKind.NOT_POSSIBLE, "INBOX can't be deleted.", self._where(name))
        path = self._path(name)
        if not os.path.isdir(path):
            raise MailError(ErrorKind.NOT_FOUND, "Mailbox doesn't exist", self._where(name))
        _forget_core(os.path.abspath(path))
        trash = os.path.join(self._root, f"..mailsuite-trash-{secrets.token_hex(6)}")
        os.rename(path, trash)  # gone for every reader at once; the removal can take its time
        shutil.rmtree(trash, ignore_errors=True)
        if name in self._special_uses() and name not in self._special_cfg:
            self._set_special_use(name, None)
        self._quota.recalculate()

    def rename_mailbox(self, old: str, new: str) -> None:
        old, new = normalize_name(old), normalize_name(new)
        if new == INBOX or self._exists(new):
            raise MailError(ErrorKind.EXISTS, "Target mailbox already exists", self._where(new))
        if old == INBOX:
            # RFC 3501 6.3.5: renaming INBOX moves its messages and leaves INBOX empty.
            self.create_mailbox(new)
            src = self.open_mailbox(INBOX)
            dst = self.open_mailbox(new)
            try:
                src.move([r.uid for r in src.snapshot().messages], dst)
            finally:
                src.close()
                dst.close()
            return
        if (new + HIERARCHY_DELIMITER).startswith(old + HIERARCHY_DELIMITER):
            raise MailError(ErrorKind.NOT_POSSIBLE, "Can't rename mailbox under itself")
        old_dir, new_dir = dir_name(old), dir_name(new)
        moves = []
        with os.scandir(self._root) as it:
            for e in it:
                if e.name == old_dir or e.name.startswith(old_dir + HIERARCHY_DELIMITER):
                    moves.append((e.name, new_dir + e.name[len(old_dir) :]))
        if not moves:
            raise MailError(ErrorKind.NOT_FOUND, "Mailbox doesn't exist", self._where(old))
        for _src, dst_dir in moves:
            if name_from_dir(dst_dir) is None:
                raise MailError(ErrorKind.PARAMS, "Invalid mailbox name", self._where(dst_dir))
            if os.path.exists(os.path.join(self._root, dst_dir)):
                raise MailError(ErrorKind.EXISTS, "Target mailbox already exists", dst_dir)
        for src_dir, dst_dir in moves:
            _forget_core(os.path.join(self._root, src_dir))
            os.rename(os.path.join(self._root, src_dir), os.path.join(self._root, dst_dir))
        specials = self._special_uses()
        if old in specials and old not in self._special_cfg:
            self._set_special_use(old, None)
            self._set_special_use(new, specials[old])

    def open_mailbox(self, name: str, readonly: bool = False) -> MaildirMailbox:
        name = normalize_name(name)
        path = os.path.abspath(self._path(name))
        if not self._exists(name):
            raise MailError(ErrorKind.NOT_FOUND, "Mailbox doesn't exist", self._where(name))
        core = self._acquire_core(name, path)
        mbox = MaildirMailbox(core, name, readonly, lambda: _release_core(path))
        if core.still_loaded():
            # Open in this process already (or recently): every call that needs
            # the disk's latest state syncs by itself (snapshot, status, STORE,
            # EXPUNGE) or refreshes under the lock (APPEND), so opening adds no
            # sync of its own; a SELECT syncs once, an LMTP delivery not at all.
            return mbox
        try:
            core.sync()  # the first load: UIDs for files found before anything is added
        except BaseException:
            mbox.close()
            raise
        return mbox

    def _acquire_core(self, name: str, path: str) -> MailboxCore:
        with _registry_lock:
            ent = _cores.get(path)
            if ent is None:
                core = _idle.pop(path, None) or MailboxCore(
                    path,
                    user=self._user,
                    name=name,
                    fsync=self._fsync,
                    log=self._log,
                    names=self._names,
                    quota=self._quota,
                    notifier=None,
                    new_uidvalidity=self._next_uidvalidity,
                )
                ent = (core, 0)
            core = ent[0]
            _cores[path] = (core, ent[1] + 1)
            core.quota = self._quota
            if self._notifier is not None and self._notifier not in core.notifiers:
                core.notifiers.append(self._notifier)
            return core

    def _next_uidvalidity(self) -> int:
        # Dovecot keeps the next free UIDVALIDITY in hex in this file, so two
        # mailboxes made in one second still get different values.
        path = os.path.join(self._root, UIDVALIDITY_FILE)
        with self._lock:
            try:
                with open(path, encoding="ascii") as f:
                    stored = int(f.read().strip() or "0", 16)
            except (FileNotFoundError, ValueError):
                stored = 0
            uv = max(int(time.time()), stored)
            atomic_write(path, f"{uv + 1:08x}".encode("ascii"))
            return uv

    # -------------------------------------------------------- subscriptions
    def subscriptions(self) -> list[str]:
        return read_subscriptions(self._root)

    def subscribe(self, name: str) -> None:
        name = normalize_name(name)
        with self._lock:
            subs = read_subscriptions(self._root)
            if name not in subs:
                write_subscriptions(self._root, subs + [name])

    def unsubscribe(self, name: str) -> None:
        name = normalize_name(name)
        with self._lock:
            subs = read_subscriptions(self._root)
            if name in subs:
                write_subscriptions(self._root, [s for s in subs if s != name])

    # ----------------------------------------------------------------- quota
    def quota(self) -> QuotaUsage:
        size, count = self._quota.usage()
        return QuotaUsage(size, count, self._quota.storage_limit, self._quota.message_limit)

    def recalculate_quota(self) -> QuotaUsage:
        size, count = self._quota.recalculate()
        return QuotaUsage(size, count, self._quota.storage_limit, self._quota.message_limit)


def _release_core(path: str) -> None:
    with _registry_lock:
        ent = _cores.get(path)
        if ent is None:
            return
        core, n = ent
        if n > 1:
            _cores[path] = (core, n - 1)
            return
        del _cores[path]
        _idle[path] = core
        while len(_idle) > _IDLE_CORES_KEPT or (
            len(_idle) > 1 and sum(len(c.rows) for c in _idle.values()) > _IDLE_ROWS_KEPT
        ):
            _p, old = _idle.popitem(last=False)
            old.close()
            old.rows.clear()  # a closed core reloads everything when reopened anyway
            old.by_name.clear()
            old.record_memo.clear()
            old.records_cache = None
            old.changed_uids = None
            old.in_new.clear()
            old.deleted.clear()


def _forget_core(path: str) -> None:
    """Close and forget the core of a directory that is being deleted or renamed."""
    with _registry_lock:
        for p in [p for p in list(_cores) + list(_idle) if p == path or p.startswith(path + ".")]:
            core = _idle.pop(p, None) or _cores.pop(p, (None, 0))[0]
            if core is not None:
                core.close()


def open_user_store(
    root: str,
    *,
    user: str,
    quota_storage_bytes: int = 0,
    quota_messages: int = 0,
    special_use: Mapping[str, str] | None = None,
    notifier: ChangeNotifier | None = None,
    fsync: bool = True,
    log: Callable[[str], None] = default_log,
) -> MaildirStore:
    """Open (creating when missing) the Maildir++ tree of one user."""
    return MaildirStore(
        root,
        user=user,
        quota_storage_bytes=quota_storage_bytes,
        quota_messages=quota_messages,
        special_use=special_use,
        notifier=notifier,
        fsync=fsync,
        log=log,
    )
