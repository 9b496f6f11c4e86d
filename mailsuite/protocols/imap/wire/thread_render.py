"""The THREAD and SORT responses (RFC 5256 section 4): ``* THREAD (2)(3 6 (4 23)(44 7 96))``.

Grammar (RFC 5256 section 5, formal syntax)::

    thread-data    = "THREAD" [SP 1*thread-list]
    thread-list    = "(" (thread-members / thread-nested) ")"
    thread-members = nz-number *(SP nz-number) [SP thread-nested]
    thread-nested  = 2*thread-list

A chain of single children is written as one run of numbers; two or more
children become one parenthesised list each. A dummy (a node without a
number, which REFERENCES keeps at the top level to group siblings) writes
only its children. Everything here is iterative: a thread of a thousand
replies in one chain must not meet Python's recursion limit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["ThreadNode", "encode_thread_lists", "sort_response", "thread_response"]


@dataclass(frozen=True, slots=True)
class ThreadNode:
    """One message of a thread (``number`` a UID or sequence number) or a dummy (None)."""

    number: int | None
    children: tuple[ThreadNode, ...] = ()


# Work items of the renderer: raw bytes to write, or a node whose members to write.
_Item = bytes | ThreadNode


def _members(node: ThreadNode, out: bytearray, number: Callable[[int], int]) -> None:
    """Append ``thread-members`` / ``thread-nested`` of ``node`` (no enclosing parens)."""
    stack: list[_Item] = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, bytes):
            out += item
            continue
        cur = item
        wrote = False
        # Follow the chain of only children as one run of numbers.
        while True:
            if cur.number is not None:
                if wrote:
                    out += b" "
                out += b"%d" % number(cur.number)
                wrote = True
            if len(cur.children) == 1:
                child = cur.children[0]
                if child.number is None and wrote:
                    out += b" "
                    wrote = False  # the dummy's nested lists follow the space just written
                cur = child
                continue
            break
        if not cur.children:
            continue
        if wrote:
            out += b" "
        # Two or more children: one "(...)" each, in order (pushed reversed).
        for child in reversed(cur.children):
            stack.append(b")")
            stack.append(child)
            stack.append(b"(")


def encode_thread_lists(
    threads: Sequence[ThreadNode], number: Callable[[int], int] | None = None
) -> bytes:
    """``1*thread-list`` for the top-level threads, e.g. ``(2)(3 6 (4 23)(44 7 96))``.

    Args:
        threads: the top-level threads in order.
        number: maps each node's number before writing (UID -> sequence
            number for a non-UID THREAD); identity when None.
    """
    conv = number if number is not None else _same
    out = bytearray()
    for node in threads:
        if node.number is None and not node.children:
            continue  # an empty dummy stands for nothing
        out += b"("
        _members(node, out, conv)
        out += b")"
    return bytes(out)


def thread_response(
    threads: Sequence[ThreadNode], number: Callable[[int], int] | None = None
) -> bytes:
    """The untagged ``* THREAD ...`` line with its CRLF; ``* THREAD`` when nothing matched."""
    lists = encode_thread_lists(threads, number)
    return b"* THREAD" + (b" " + lists if lists else b"") + b"\r\n"


def sort_response(numbers: Sequence[int], *, modseq: int | None = None) -> bytes:
    """``* SORT 2 3 6`` (RFC 5256 4.1) in the order given; ``* SORT`` when nothing matched.

    ``modseq`` adds ``(MODSEQ n)`` when the search program had a MODSEQ key
    (RFC 7162 3.1.5 applies to SORT as to SEARCH); never on an empty result.
    """
    out = b"* SORT"
    if numbers:
        out += b" " + b" ".join(b"%d" % n for n in numbers)
        if modseq is not None:
            out += b" (MODSEQ %d)" % modseq
    return out + b"\r\n"


def _same(n: int) -> int:
    return n
