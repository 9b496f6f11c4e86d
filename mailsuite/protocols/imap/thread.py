"""RFC 5256 THREAD: ORDEREDSUBJECT and REFERENCES over a search result.

The session runs SEARCH first and hands the matching UIDs here with a loader
of five header fields (Date, Subject, Message-ID, In-Reply-To, References);
:func:`fields_loader` reads them from the Maildir store's header cache, so no
message file is opened while the cache is intact. The result is a list of
:class:`~.wire.thread_render.ThreadNode` trees holding UIDs; the renderer in
:mod:`.wire.thread_render` writes the ``* THREAD`` line.

REFERENCES follows section 5 step by step (message-id table, parent/child
links without loops, dummy pruning, subject gathering, sorting by sent date).
Every walk is iterative and the loop check is skipped when the would-be child
has no children (it cannot then be an ancestor), so long reply chains and
hostile References fields (loops, self references, duplicate Message-IDs,
thousands of ids) cost no recursion and stay near linear.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from mailsuite.errors import ErrorKind, MailError
from mailsuite.store.api import MailboxSnapshot

from .basesubject import ascii_casemap, extract_base_subject
from .msgid import message_ids
from .sort import sent_date
from .wire.thread_render import ThreadNode

__all__ = [
    "THREAD_ALGORITHMS",
    "THREAD_CAPABILITIES",
    "THREAD_FIELDS",
    "fields_loader",
    "thread_uids",
]

THREAD_ALGORITHMS: Final = ("ORDEREDSUBJECT", "REFERENCES")
THREAD_CAPABILITIES: Final = tuple(f"THREAD={a}" for a in THREAD_ALGORITHMS)
# Lower-case header fields the algorithms read (all in the Maildir header cache).
THREAD_FIELDS: Final = ("date", "subject", "message-id", "in-reply-to", "references")
MAX_REFERENCES: Final = 1000  # ids used per message; the last ones matter most

Fields = Mapping[str, list[str]]


@dataclass(frozen=True, slots=True)
class _Row:
    """One message as the algorithms see it."""

    seq: int
    uid: int
    date: float  # RFC 5256 2.2 sent date
    subject: str  # i;ascii-casemap key of the base subject
    refwd: bool  # the subject marked a reply or forward
    fields: Fields


class _Node:
    """A container of REFERENCES (section 5): a message or a dummy, with its links."""

    __slots__ = ("uid", "seq", "date", "subject", "refwd", "parent", "children")

    def __init__(self) -> None:
        self.uid: int | None = None  # None: a dummy
        self.seq = 0
        self.date = 0.0
        self.subject = ""  # i;ascii-casemap key of the base subject
        self.refwd = False
        self.parent: _Node | None = None
        self.children: list[_Node] = []


def _first(fields: Fields, name: str) -> str | None:
    values = fields.get(name)
    return values[0] if values else None


def _is_ancestor(candidate: _Node, node: _Node | None) -> bool:
    """Whether ``candidate`` is ``node`` or one of its ancestors."""
    while node is not None:
        if node is candidate:
            return True
        node = node.parent
    return False


def _would_loop(parent: _Node, child: _Node) -> bool:
    if parent is child:
        return True
    # A node without children is nobody's ancestor: the common case costs nothing.
    return bool(child.children) and _is_ancestor(child, parent)


def _link(parent: _Node, child: _Node) -> None:
    child.parent = parent
    parent.children.append(child)


def _unlink(child: _Node) -> None:
    parent = child.parent
    if parent is not None:
        parent.children.remove(child)
        child.parent = None


def _load_all(
    uids: Iterable[int], snapshot: MailboxSnapshot, load_fields: Callable[[int], Fields]
) -> list[_Row]:
    """The messages in sequence order; expunged ones dropped."""
    wanted = set(uids)
    out: list[_Row] = []
    subjects: dict[str | None, tuple[str, bool]] = {}  # a thread repeats its subject
    for i, rec in enumerate(snapshot.messages):
        if rec.uid not in wanted:
            continue
        try:
            fields = load_fields(rec.uid)
        except MailError as e:
            if e.kind is not ErrorKind.EXPUNGED:
                raise
            continue
        raw = _first(fields, "subject")
        subject = subjects.get(raw)
        if subject is None:
            base = extract_base_subject(raw)
            subject = subjects[raw] = (ascii_casemap(base.text), base.reply_or_forward)
        date = sent_date(_first(fields, "date"), rec.internal_date)
        out.append(_Row(i + 1, rec.uid, date, subject[0], subject[1], fields))
    return out


def _sort_key(node: _Node) -> tuple[float, int]:
    # RFC 5256 2.2: sent date, ties by sequence number; a dummy sorts as its first child.
    if node.uid is None and node.children:
        first = min(node.children, key=_sort_key_real)
        return first.date, first.seq
    return node.date, node.seq


def _sort_key_real(node: _Node) -> tuple[float, int]:
    return node.date, node.seq


def _freeze(roots: list[_Node]) -> list[ThreadNode]:
    """Turn the containers into ThreadNodes, bottom-up without recursion."""
    built: dict[int, ThreadNode] = {}
    stack: list[tuple[_Node, bool]] = [(r, False) for r in reversed(roots)]
    while stack:
        node, expanded = stack.pop()
        if not expanded:
            stack.append((node, True))
            stack.extend((c, False) for c in node.children)
            continue
        built[id(node)] = ThreadNode(node.uid, tuple(built.pop(id(c)) for c in node.children))
    return [built[id(r)] for r in roots]


def _ordered_subject(rows: list[_Row]) -> list[ThreadNode]:
    """RFC 5256 section 5 ORDEREDSUBJECT: group by base subject, children of the first."""
    groups: dict[str, list[tuple[float, int, int]]] = {}
    for row in rows:
        groups.setdefault(row.subject, []).append((row.date, row.seq, row.uid))
    threads: list[tuple[tuple[float, int], ThreadNode]] = []
    for members in groups.values():
        members.sort()
        date, seq, uid = members[0]
        kids = tuple(ThreadNode(u) for _d, _s, u in members[1:])
        threads.append(((date, seq), ThreadNode(uid, kids)))
    threads.sort(key=lambda t: t[0])
    return [t for _k, t in threads]


def _build_links(rows: list[_Row]) -> list[_Node]:
    """Steps 1 and 2: containers linked by References/In-Reply-To; returns the root set."""
    table: dict[str, _Node] = {}
    every: list[_Node] = []

    def container(mid: str) -> _Node:
        node = table.get(mid)
        if node is None:
            node = table[mid] = _Node()
            every.append(node)
        return node

    for row in rows:
        fields = row.fields
        ids = message_ids(_first(fields, "message-id"), loose=True)
        mid = ids[0] if ids else None
        node = table.get(mid) if mid is not None else None
        if node is None or node.uid is not None:
            # Missing or duplicate Message-ID: only the first (lowest sequence
            # number) message keeps it; the others get an id nothing refers to.
            node = _Node()
            every.append(node)
            if mid is not None and mid not in table:
                table[mid] = node
        node.uid, node.seq, node.date = row.uid, row.seq, row.date
        node.subject, node.refwd = row.subject, row.refwd
        refs: list[str] = []
        for value in fields.get("references", ()):
            refs.extend(message_ids(value))
        if not refs:
            # No usable References: the first valid id of In-Reply-To is the only reference.
            irt = message_ids(_first(fields, "in-reply-to"))
            refs = irt[:1]
        refs = refs[-MAX_REFERENCES:]
        # Step 1 (A): each reference the parent of the next, unless already parented or a loop.
        prev: _Node | None = None
        for ref in refs:
            cur = container(ref)
            if prev is not None and cur.parent is None and not _would_loop(prev, cur):
                _link(prev, cur)
            prev = cur
        # Step 1 (B): the last reference is this message's parent; it overrides what
        # a truncated References of another message said.
        if prev is not None and prev is not node and node.parent is prev:
            continue
        _unlink(node)
        if prev is not None and not _would_loop(prev, node):
            _link(prev, node)
    # Step 2: the root set, in the order the containers came into being.
    return [n for n in every if n.parent is None]


def _prune(roots: list[_Node]) -> list[_Node]:
    """Step 3: drop empty dummies; splice dummies' children into their place.

    Children of a top-level dummy are promoted only when there is one of them.
    Post-order, so a promoted child has been pruned already.
    """
    order: list[_Node] = []
    stack = list(roots)
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(node.children)
    for node in reversed(order):  # children before parents
        if not node.children:
            continue
        kept: list[_Node] = []
        for child in node.children:
            if child.uid is None:
                for grandchild in child.children:
                    grandchild.parent = node
                kept.extend(child.children)
            else:
                kept.append(child)
        node.children = kept
    out: list[_Node] = []
    for root in roots:
        if root.uid is None:
            if not root.children:
                continue
            if len(root.children) == 1:
                only = root.children[0]
                only.parent = None
                out.append(only)
                continue
        out.append(root)
    return out


def _gather_subjects(roots: list[_Node]) -> list[_Node]:
    """Step 5: merge top-level threads whose base subjects are equal."""

    def subject_of(node: _Node) -> str:
        return node.children[0].subject if node.uid is None else node.subject

    table: dict[str, _Node] = {}
    # (C): which container of each subject the others gather under.
    for node in roots:
        subj = subject_of(node)
        if not subj:
            continue
        old = table.get(subj)
        if (
            old is None
            or (old.uid is not None and node.uid is None)
            or (old.uid is not None and old.refwd and node.uid is not None and not node.refwd)
        ):
            table[subj] = node
    removed: set[int] = set()
    replaced: dict[int, _Node] = {}
    # (D): merge each thread into the table's container of its subject.
    for node in roots:
        if id(node) in removed or node.parent is not None:
            continue  # already merged (a table entry now under a new dummy)
        subj = subject_of(node)
        if not subj:
            continue
        old = table[subj]
        if old is node:
            continue
        if old.uid is None and node.uid is None:
            for child in node.children:
                child.parent = old
            old.children.extend(node.children)
            node.children = []
            removed.add(id(node))
        elif old.uid is None or (node.refwd and not old.refwd):
            _link(old, node)
            removed.add(id(node))
        else:
            dummy = _Node()
            replaced[id(old)] = dummy
            _link(dummy, old)
            _link(dummy, node)
            table[subj] = dummy
            removed.add(id(node))
    out: list[_Node] = []
    for node in roots:
        if id(node) in removed:
            continue
        out.append(replaced.get(id(node), node))
    return out


def _sort_all(roots: list[_Node]) -> None:
    """Step 6: every sibling list by sent date (a dummy by its earliest child)."""
    stack = list(roots)
    while stack:
        node = stack.pop()
        if node.children:
            node.children.sort(key=_sort_key)
            stack.extend(node.children)
    roots.sort(key=_sort_key)


def _references(rows: list[_Row]) -> list[ThreadNode]:
    roots = _build_links(rows)  # steps 1-2 (step 3, the id table, ends with it)
    roots = _prune(roots)  # step 3 (the RFC's "(4)" numbering aside)
    for root in roots:  # step 4: top-level siblings by date; dummies by their first child
        if root.uid is None:
            root.children.sort(key=_sort_key_real)
    roots.sort(key=_sort_key)
    roots = _gather_subjects(roots)  # step 5
    _sort_all(roots)  # step 6
    return _freeze(roots)


def thread_uids(
    algorithm: str,
    uids: Iterable[int],
    snapshot: MailboxSnapshot,
    load_fields: Callable[[int], Fields],
) -> list[ThreadNode]:
    """Thread the messages ``uids`` of ``snapshot`` (RFC 5256 section 5).

    Blocking (it may read the header cache or files): call it through ``run_blocking``.

    Args:
        algorithm: ``ORDEREDSUBJECT`` or ``REFERENCES`` (upper case).
        uids: the SEARCH result; UIDs not in ``snapshot`` are ignored.
        snapshot: the mailbox as the session sees it (sequence numbers break ties).
        load_fields: UID -> {lower-case field: [raw values]} holding at least
            :data:`THREAD_FIELDS` (see :func:`fields_loader`). A
            :class:`MailError` EXPUNGED drops the message.

    Returns:
        Top-level threads in order, holding UIDs (map them to sequence numbers
        with the renderer's ``number`` argument for a non-UID THREAD).

    Raises:
        ValueError: an unknown algorithm.
        MailError: loading failed for a reason other than an expunge.
    """
    if algorithm not in THREAD_ALGORITHMS:
        raise ValueError(f"Unknown threading algorithm {algorithm}")
    rows = _load_all(uids, snapshot, load_fields)
    if algorithm == "ORDEREDSUBJECT":
        return _ordered_subject(rows)
    return _references(rows)


def fields_loader(mailbox: Any) -> Callable[[int], Fields]:
    """The THREAD field loader of a store mailbox.

    A Maildir mailbox's header cache (``header_fields``) holds every field
    THREAD reads; any other store falls back to the lazily parsed message,
    which reads only the header.
    """
    cached = getattr(mailbox, "header_fields", None)
    if cached is not None:
        loader: Callable[[int], Fields] = cached
        return loader

    def from_message(uid: int) -> Fields:
        msg = mailbox.message(uid)
        return {name: msg.raw_header_values(name) for name in THREAD_FIELDS}

    return from_message
