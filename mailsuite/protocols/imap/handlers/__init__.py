"""Command handlers, one module per command family; ``HANDLERS`` maps command types to them.

Each handler is ``async def handler(session, cmd) -> Outcome``: it writes
untagged responses to ``session.out`` and returns the tagged line. The
session has already checked the state; the handler checks the rest.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from .. import commands as c
from . import connection, fetch, idle, mailboxes, messages, quota, selection, sorting

if TYPE_CHECKING:
    from ..session import ImapSession, Outcome

__all__ = ["HANDLERS", "Handler"]

Handler = Callable[["ImapSession", Any], Awaitable["Outcome"]]

HANDLERS: Final[Mapping[type[c.Command], Handler]] = MappingProxyType(
    {
        c.Capability: connection.do_capability,
        c.Noop: connection.do_noop,
        c.Logout: connection.do_logout,
        c.Id: connection.do_id,
        c.Starttls: connection.do_starttls,
        c.Login: connection.do_login,
        c.Authenticate: connection.do_authenticate,
        c.Enable: connection.do_enable,
        c.Compress: connection.do_compress,
        c.Namespace: connection.do_namespace,
        c.Idle: idle.do_idle,
        c.Select: selection.do_select,
        c.Examine: selection.do_select,
        c.Check: selection.do_check,
        c.Close: selection.do_close,
        c.Unselect: selection.do_unselect,
        c.Expunge: selection.do_expunge,
        c.UidExpunge: selection.do_uid_expunge,
        c.Create: mailboxes.do_create,
        c.Delete: mailboxes.do_delete,
        c.Rename: mailboxes.do_rename,
        c.Subscribe: mailboxes.do_subscribe,
        c.Unsubscribe: mailboxes.do_subscribe,
        c.List: mailboxes.do_list,
        c.Lsub: mailboxes.do_lsub,
        c.Xlist: mailboxes.do_xlist,
        c.Status: mailboxes.do_status,
        c.Append: mailboxes.do_append,
        c.GetQuota: quota.do_getquota,
        c.GetQuotaRoot: quota.do_getquotaroot,
        c.SetQuota: quota.do_setquota,
        c.Fetch: fetch.do_fetch,
        c.Store: messages.do_store,
        c.Copy: messages.do_copy,
        c.Move: messages.do_copy,
        c.Search: messages.do_search,
        c.Sort: sorting.do_sort,
        c.Thread: sorting.do_thread,
    }
)
