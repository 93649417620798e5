"""The radix-tree node count that streams are charged by equals a direct build of the tree."""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from keyscope.rdb.rax import RaxNodeCounter


def _nodes_of_tree(keys: list[bytes]) -> int:
    """Nodes of the compressed radix tree of ``keys`` (distinct, same length), built top-down.

    A node where the keys part ways has one child per next character; a run the keys share
    is one compressed node; every key ends in a leaf. An empty tree is the root alone.
    """
    if not keys:
        return 1
    length = len(keys[0])

    def below(depth: int, group: list[bytes]) -> int:
        if depth == length:
            return 1
        edges = {k[depth] for k in group}
        if len(edges) > 1:
            return 1 + sum(below(depth + 1, [k for k in group if k[depth] == e]) for e in edges)
        shared = next((d for d in range(depth, length) if len({k[d] for k in group}) > 1), length)
        return 1 + below(shared, group)

    return below(0, keys)


def _count(keys: list[bytes]) -> int:
    counter = RaxNodeCounter()
    for key in keys:
        counter.add(key)
    return counter.nodes


def test_an_empty_tree_is_its_root_and_one_key_is_a_compressed_root_and_a_leaf() -> None:
    assert _count([]) == 1
    assert _count([bytes(16)]) == 2


def test_two_ids_parting_at_the_last_byte_split_the_compressed_root() -> None:
    # the shared 15 bytes, the split node, and one leaf per key
    assert _count([bytes(16), bytes(15) + b"\x01"]) == 4


stream_ids = st.lists(
    st.tuples(st.integers(0, 2**48), st.integers(0, 2**16)), min_size=0, max_size=60
).map(lambda ids: sorted({struct.pack(">QQ", ms, seq) for ms, seq in ids}))


@given(stream_ids)
def test_stream_ids_appended_in_order_count_like_the_tree_built_top_down(
    keys: list[bytes],
) -> None:
    assert _count(keys) == _nodes_of_tree(keys)


@given(st.lists(st.binary(min_size=3, max_size=3), max_size=40).map(lambda k: sorted(set(k))))
def test_short_keys_with_dense_branching_count_like_the_tree_built_top_down(
    keys: list[bytes],
) -> None:
    assert _count(keys) == _nodes_of_tree(keys)


def test_consecutive_ids_of_one_millisecond_share_all_but_their_last_bytes() -> None:
    keys = [struct.pack(">QQ", 1_700_000_000_000, seq) for seq in range(300)]
    counter = RaxNodeCounter()
    for key in keys + keys[-1:]:  # a repeated key adds nothing
        counter.add(key)
    assert counter.elements == 300
    assert counter.nodes == _nodes_of_tree(keys)
