"""How many bytes a key takes in a running Redis, following its allocator and structures.

The figures model Redis 7.x on 64-bit Linux with jemalloc, the way ``MEMORY USAGE key
SAMPLES 0`` counts: the value object, the key's sds and its dict entry. Each function takes
what the RDB tells about a value and returns bytes.
"""

from __future__ import annotations

ROBJ = 16
"""sizeof(robj)."""
DICT_ENTRY = 24
"""sizeof(dictEntry): key, value, next."""
DICT = 56
"""sizeof(dict) in Redis 7."""
QUICKLIST = 40
QUICKLIST_NODE = 40
"""sizeof(quicklistNode) with its 64-bit ``sz`` (Redis 7)."""
ZSET = 16
ZSKIPLIST = 32
ZSL_HEADER = 640
"""jemalloc class of the skiplist header node (24 + 32 levels × 16 = 536 bytes)."""
ZSL_NODE_EXPECTED = 53.3
"""Expected jemalloc size of a skiplist node: levels drawn with p = 1/4, 24 + 16 × level."""
STREAM = 80
STREAM_CG = 40
STREAM_NACK = 24
STREAM_CONSUMER = 24
STREAM_ID = 16
RAX_NODE_COST = 4 + 8 * 30
"""What Redis counts per radix-tree node (header plus a fixed overhead)."""
STREAM_LISTPACK_PREALLOC = 4096
"""A stream node's listpack is created with this capacity (stream-node-max-bytes default)."""
EMBSTR_MAX = 44
"""Strings up to this length are embedded in the object (OBJ_ENCODING_EMBSTR)."""


def jemalloc_size(n: int) -> int:
    """The jemalloc size class that an allocation of ``n`` bytes gets."""
    if n <= 8:
        return 8
    if n <= 128:
        return (n + 15) & ~15
    delta = 1 << ((n - 1).bit_length() - 3)
    return (n + delta - 1) // delta * delta


def sds_header(length: int) -> int:
    if length < 32:
        return 1
    if length < 256:
        return 3
    if length < 65536:
        return 5
    if length < 1 << 32:
        return 9
    return 17


def sds_size(length: int) -> int:
    """Allocated bytes of an sds string of ``length`` created at its exact size."""
    if length < 32:
        return jemalloc_size(length + 2) if length else jemalloc_size(4)
    return jemalloc_size(sds_header(length) + length + 1)


def key_overhead(key_length: int) -> int:
    """The key's sds and its entry in the keyspace dict."""
    return sds_size(key_length) + DICT_ENTRY


def dict_slots(n: int) -> int:
    """Buckets of a dict holding ``n`` entries (power of two, at least 4)."""
    size = 4
    while size < n:
        size <<= 1
    return size


def string_value(length: int, *, is_int: bool) -> int:
    if is_int:
        return ROBJ
    if length <= EMBSTR_MAX:
        return jemalloc_size(ROBJ + 3 + length + 1)
    return ROBJ + sds_size(length)


def packed_value(blob_bytes: int) -> int:
    """A listpack or intset held in one allocation (small hashes, sets, zsets)."""
    return ROBJ + jemalloc_size(blob_bytes)


def quicklist_value(node_bytes: list[int]) -> int:
    return ROBJ + QUICKLIST + sum(QUICKLIST_NODE + jemalloc_size(b) for b in node_bytes)


def set_hashtable(element_sds_total: int, count: int) -> int:
    return ROBJ + DICT + 8 * dict_slots(count) + count * DICT_ENTRY + element_sds_total


def hash_hashtable(pair_sds_total: int, count: int) -> int:
    return ROBJ + DICT + 8 * dict_slots(count) + count * DICT_ENTRY + pair_sds_total


def zset_skiplist(element_sds_total: int, count: int) -> int:
    fixed = ROBJ + ZSET + ZSKIPLIST + DICT + 8 * dict_slots(count) + ZSL_HEADER
    return round(fixed + element_sds_total + count * (DICT_ENTRY + ZSL_NODE_EXPECTED))


def rax_usage(elements: int) -> int:
    """Redis's own count for a radix tree of stream IDs (``streamRadixTreeMemoryUsage``)."""
    nodes = 1 if elements == 0 else 2 * elements
    return elements * STREAM_ID + nodes * RAX_NODE_COST


def stream_listpack(blob_bytes: int) -> int:
    return jemalloc_size(max(blob_bytes, STREAM_LISTPACK_PREALLOC))
