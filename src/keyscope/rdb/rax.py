"""How many nodes Redis's radix tree (``rax.c``) holds for a sorted run of fixed-length keys.

``MEMORY USAGE`` charges a stream, and each of its consumer groups and consumers, per rax
node. The RDB lists the keys of those trees (stream node IDs, pending entry IDs) in tree
order, so replaying the insertions on the rightmost path alone gives the exact count for a
tree built by appending, which is how streams grow.
"""

from __future__ import annotations


class RaxNodeCounter:
    """Counts the nodes ``rax.c`` creates when the given keys are inserted in order.

    Only the path of the last key is kept: each node as ``(depth, span, compressed)``,
    where a compressed node holds ``span`` characters and a branching node one edge
    character (``span`` 1) at ``depth``. A key must sort after the previous one and have
    the same length; the leaf under each key is a node of span 0.
    """

    __slots__ = ("_last", "_path", "elements", "nodes")

    def __init__(self) -> None:
        self.nodes = 1  # the empty root
        self.elements = 0
        self._last = b""
        self._path: list[tuple[int, int, bool]] = []

    def add(self, key: bytes) -> None:
        length = len(key)
        if not self._path:
            self._path = _branch(0, length)
            self.nodes = len(self._path)
            self.elements, self._last = 1, key
            return
        if key == self._last:
            return
        if len(self._last) != length:
            return  # not a key of this tree: leave the count as it is
        depth = _common_prefix(self._last, key)
        index = _node_at(self._path, depth)
        start, span, compressed = self._path[index]
        head = self._path[:index]
        if compressed:
            cut = depth - start
            if cut:
                head.append((start, cut, cut > 1))
                self.nodes += 1
            if span - cut - 1:
                self.nodes += 1  # what remains of the old node below the split
        head.append((depth, 1, False))
        tail = _branch(depth + 1, length)
        self.nodes += len(tail)
        self._path = head + tail
        self.elements += 1
        self._last = key


def _common_prefix(a: bytes, b: bytes) -> int:
    """Length of the common prefix of two different keys of the same length."""
    diff = int.from_bytes(a, "big") ^ int.from_bytes(b, "big")
    return len(a) - (diff.bit_length() + 7) // 8


def _node_at(path: list[tuple[int, int, bool]], depth: int) -> int:
    """Index of the node on ``path`` that holds the edge character at ``depth``."""
    for index, (start, span, _) in enumerate(path):
        if start <= depth < start + span:
            return index
    raise AssertionError("the path covers every depth above the leaf")


def _branch(depth: int, length: int) -> list[tuple[int, int, bool]]:
    """The nodes of a new branch from ``depth`` down to the leaf of a key of ``length``."""
    if depth == length:
        return [(length, 0, False)]
    rest = length - depth
    return [(depth, rest, rest > 1), (length, 0, False)]
