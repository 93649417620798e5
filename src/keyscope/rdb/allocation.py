"""What allocators and tables make of a size: size classes, sds headers, dict and hashtable buckets.

Facts shared by every memory model (``rdb/memory.py``): jemalloc's classes as the engines
bundle it (8-byte quantum) and as distributions ship it (16-byte quantum), glibc's usable
sizes, an sds string's header, how many buckets a dict or a Valkey 8.1 hashtable holds.
"""

from __future__ import annotations

import math

REHASH_NONEMPTY_SHARE = 0.632
"""Share of non-empty buckets in a dict at load factor 1 (1 - 1/e): one rehash step each."""
HT_BUCKET_SLOTS = 7
"""Entries a Valkey 8.1 hashtable bucket holds (one of them a child pointer once chained)."""


def jemalloc_size(n: int) -> int:
    """The class a bundled jemalloc (8-byte quantum) gives ``n`` bytes."""
    if n <= 8:
        return 8
    if n <= 64:
        return (n + 7) & ~7
    return _jemalloc_large(n)


def jemalloc16_size(n: int) -> int:
    """The class a system jemalloc (16-byte quantum) gives ``n`` bytes."""
    if n <= 8:
        return 8
    if n <= 128:
        return (n + 15) & ~15
    return _jemalloc_large(n)


def _jemalloc_large(n: int) -> int:
    if n <= 128:
        return (n + 15) & ~15
    delta = 1 << ((n - 1).bit_length() - 3)
    return (n + delta - 1) // delta * delta


def libc_size(n: int) -> int:
    """``malloc_usable_size`` of glibc for ``n`` bytes (16-byte chunks, 8 of them header)."""
    return max(32, (n + 8 + 15) & ~15) - 8


ALLOC = {"jemalloc": jemalloc_size, "jemalloc-16": jemalloc16_size, "libc": libc_size}


def sds_header(length: int, *, tight: bool = False) -> int:
    """The header of an sds string; ``tight`` trees (Redis 8, Valkey) count the header and
    terminator against each type's limit."""
    if length < 32:
        return 1
    slack = 1 if tight else 0
    if length < 256 - 3 * slack:
        return 3
    if length < 65536 - 5 * slack:
        return 5
    if length < (1 << 32) - 9 * slack:
        return 9
    return 17


def sds_request(length: int, *, min_type8: bool = False, tight: bool = False) -> int:
    """Bytes an sds string of ``length`` asks for: header, content, terminator."""
    header = 3 if min_type8 and length < 32 else sds_header(length, tight=tight)
    return header + length + 1


def pow2_at_least(n: int, floor: int = 4) -> int:
    size = floor
    while size < n:
        size <<= 1
    return size


def dict_slots(n: int, steps_per_insert: int = 0, *, presized_for: int = 0) -> int:
    """Buckets of a dict holding ``n`` entries, counting both tables while it rehashes.

    A dict doubles when it is full and then moves one bucket per operation. A collection
    built by successive inserts (the usual way) is caught mid-rehash when too few inserts
    followed its last doubling; ``steps_per_insert`` is how many rehash steps one insert
    makes (a set's add makes one, a hash's or zset's lookup-then-add two). Zero assumes the
    rehash is complete, as after a load from an RDB file. ``presized_for`` is the entry
    count the dict was created for when a packed encoding converted to it (no rehash then).
    """
    size = pow2_at_least(max(n, presized_for))
    grown = size > 4 and (not presized_for or size > pow2_at_least(presized_for))
    if steps_per_insert and n > 4 and grown:
        old = size // 2
        inserts_since_doubling = n - old - 1
        if steps_per_insert * inserts_since_doubling < REHASH_NONEMPTY_SHARE * old:
            return size + old
    return size


def ht_buckets_for(capacity: int) -> int:
    """Buckets a Valkey 8.1 hashtable allocates to hold ``capacity`` entries."""
    wanted = max(1, (capacity * 5 - 1) // 32 + 1)
    return 1 << (wanted - 1).bit_length()


def ht_buckets(n: int, *, presized_for: int = 0) -> int:
    """Buckets of a Valkey 8.1 hashtable grown by inserts to ``n`` entries (at full fill)."""
    if presized_for >= n:
        return ht_buckets_for(presized_for)
    buckets = ht_buckets_for(presized_for or 1)
    while n > buckets * HT_BUCKET_SLOTS:  # expands when an insert would pass 100 % fill
        buckets = ht_buckets_for(buckets * HT_BUCKET_SLOTS + 1)
    return buckets


def ht_child_buckets(n: int, buckets: int) -> float:
    """Expected overflow buckets: entries per bucket are Poisson, 7 fit, 6 per chained one."""
    lam = n / buckets
    if lam <= 0:
        return 0.0
    term = math.exp(-lam)
    expected = 0.0
    for k in range(1, 8 * HT_BUCKET_SLOTS):
        term *= lam / k
        if k > HT_BUCKET_SLOTS:
            expected += term * -(-(k - HT_BUCKET_SLOTS) // (HT_BUCKET_SLOTS - 1))
    return buckets * expected
