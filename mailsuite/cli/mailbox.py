"""``mailsuite mailbox list|status|create USER``: a user's mailboxes, like ``doveadm mailbox``.

Also home of :func:`open_user_store_for`, which the ``index`` and ``quota``
commands use: it finds a user's Maildir from the config's ``[mail] location``
(``%u`` user, ``%n`` local part, ``%d`` domain).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from mailsuite.config import Settings, load_settings, resolve_path
from mailsuite.errors import ConfigError
from mailsuite.store.maildir import MaildirStore, open_user_store

__all__ = ["register", "open_user_store_for", "expand_location"]


def expand_location(template: str, user: str, home: str = "") -> str:
    """Expand Dovecot-style %-variables in a mail location.

    Raises:
        ConfigError: the template uses %h and no home is known, or an unknown variable.
    """
    local, _, domain = user.partition("@")
    values = {"u": user, "n": local, "d": domain, "h": home, "%": "%"}
    out = []
    i = 0
    while i < len(template):
        ch = template[i]
        if ch != "%":
            out.append(ch)
            i += 1
            continue
        key = template[i + 1 : i + 2]
        if key not in values:
            raise ConfigError(f"[mail] location: unknown variable %{key} in {template!r}")
        if key == "h" and not home:
            raise ConfigError(f"[mail] location: %h needs a home directory for user {user}")
        if "/" in values[key] or values[key] in ("..", "."):
            raise ConfigError(f"user name {user!r} cannot be used in a path")
        out.append(values[key])
        i += 2
    return "".join(out)


def _userdb_record(settings: Settings, user: str) -> Any:
    """The user's record from the configured userdbs, None when none knows the user."""
    from mailsuite.auth.realm import make_user_record
    from mailsuite.auth.userdb import build_userdb

    for i, cfg in enumerate(settings.userdb):
        fields = build_userdb(cfg, settings, i).lookup(user)
        if fields is not None:
            name = fields.pop("user", None) or user
            return make_user_record(name, fields, settings)
    return None


def open_user_store_for(args: Any) -> MaildirStore:
    """The store of ``args.user`` as the server would open it.

    The userdb says where the mail is and the user's limits, as for a login;
    a user no userdb knows (or an unreachable userdb) falls back to
    ``[mail] location`` and the ``[quota]`` limits, with a note on stderr.
    """
    settings = load_settings(args.config)
    root = resolve_path(settings, expand_location(settings.mail.location, args.user))
    storage, messages = settings.quota.storage_bytes, settings.quota.messages
    try:
        record = _userdb_record(settings, args.user)
    except ConfigError:
        raise
    except Exception as e:  # an unreachable database, an unreadable passwd-file
        print(f"mailsuite: userdb lookup for {args.user} failed ({e}); using [mail] location",
              file=sys.stderr)  # fmt: skip
        record = None
    if record is not None and record.mail:
        root = record.mail
        storage = record.quota_storage_bytes or storage
        messages = record.quota_messages or messages
    elif record is None:
        print(f"mailsuite: {args.user} not in any userdb; using [mail] location {root}",
              file=sys.stderr)  # fmt: skip
    return open_user_store(
        root,
        user=args.user,
        quota_storage_bytes=storage,
        quota_messages=messages,
        special_use=settings.mail.special_use,
        fsync=settings.mail.fsync,
        log=lambda line: print(f"mailsuite: {line}", flush=True),
    )


def _list(args: argparse.Namespace) -> int:
    store = open_user_store_for(args)
    for info in store.list_mailboxes():
        attrs = " ".join(sorted(info.attributes))
        print(f"{info.name}\t{attrs}" if args.verbose else info.name)
    return 0


def _status(args: argparse.Namespace) -> int:
    store = open_user_store_for(args)
    names = args.mailbox or [
        i.name for i in store.list_mailboxes() if "\\Noselect" not in i.attributes
    ]
    for name in names:
        mbox = store.open_mailbox(name, readonly=True)
        try:
            s = mbox.status()
        finally:
            mbox.close()
        print(
            f"{name} messages={s.messages} recent={s.recent} uidnext={s.uidnext} "
            f"uidvalidity={s.uidvalidity} unseen={s.unseen} highestmodseq={s.highestmodseq} "
            f"vsize={s.size}"
        )
    return 0


def _create(args: argparse.Namespace) -> int:
    store = open_user_store_for(args)
    for name in args.mailbox:
        store.create_mailbox(name)
        if args.subscribe:
            store.subscribe(name)
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("mailbox", help="list, inspect and create a user's mailboxes")
    cmds = p.add_subparsers(dest="mailbox_command", metavar="SUBCOMMAND")
    lst = cmds.add_parser("list", help="list the user's mailboxes")
    lst.add_argument("user")
    lst.add_argument("-v", "--verbose", action="store_true", help="show attributes")
    lst.set_defaults(func=_list)
    st = cmds.add_parser("status", help="messages, unseen, UIDNEXT... of mailboxes")
    st.add_argument("user")
    st.add_argument("mailbox", nargs="*", help="default: every mailbox")
    st.set_defaults(func=_status)
    cr = cmds.add_parser("create", help="create mailboxes")
    cr.add_argument("user")
    cr.add_argument("mailbox", nargs="+")
    cr.add_argument("-s", "--subscribe", action="store_true")
    cr.set_defaults(func=_create)
