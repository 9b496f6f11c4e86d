"""The RFC 5256 THREAD response renderer: exact thread-list syntax, no recursion."""

from __future__ import annotations

from mailsuite.protocols.imap.wire.thread_render import (
    ThreadNode,
    encode_thread_lists,
    sort_response,
    thread_response,
)


def test_renderer_syntax() -> None:
    """The renderer writes RFC 5256 thread-lists, mapping numbers when asked."""
    tree = [
        ThreadNode(2),
        ThreadNode(
            3,
            (
                ThreadNode(
                    6,
                    (
                        ThreadNode(4, (ThreadNode(23),)),
                        ThreadNode(44, (ThreadNode(7, (ThreadNode(96),)),)),
                    ),
                ),
            ),
        ),
    ]
    assert thread_response(tree) == b"* THREAD (2)(3 6 (4 23)(44 7 96))\r\n"
    assert thread_response(tree, lambda n: n + 1) == b"* THREAD (3)(4 7 (5 24)(45 8 97))\r\n"
    dummy = ThreadNode(None, (ThreadNode(1), ThreadNode(2, (ThreadNode(3),))))
    assert thread_response([dummy, ThreadNode(None)]) == b"* THREAD ((1)(2 3))\r\n"
    assert thread_response(
        [ThreadNode(1, (ThreadNode(None, (ThreadNode(2), ThreadNode(3))),))]
    ) == (b"* THREAD (1 (2)(3))\r\n")


def test_empty_and_chains() -> None:
    """No threads is a bare ``* THREAD``; a long chain of only children is one run."""
    assert thread_response([]) == b"* THREAD\r\n"
    node = ThreadNode(3000)
    for n in range(2999, 0, -1):
        node = ThreadNode(n, (node,))
    assert encode_thread_lists([node]) == b"(" + b" ".join(b"%d" % n for n in range(1, 3001)) + b")"


def test_deep_branching() -> None:
    """Each level with two children nests one list deeper, 2,000 levels without recursion."""
    node = ThreadNode(0)
    for n in range(1, 2001):
        node = ThreadNode(n, (ThreadNode(10_000 + n), node))
    out = encode_thread_lists([node])
    assert out.startswith(b"(2000 (12000)(1999 (11999)(1998 ")
    assert out.count(b"(") == out.count(b")") == 1 + 2 * 2000


def test_sort_response() -> None:
    """``* SORT`` lists numbers in the given order, with MODSEQ only when something matched."""
    assert sort_response([5, 2, 9]) == b"* SORT 5 2 9\r\n"
    assert sort_response([]) == b"* SORT\r\n"
    assert sort_response([3], modseq=17) == b"* SORT 3 (MODSEQ 17)\r\n"
    assert sort_response([], modseq=17) == b"* SORT\r\n"
