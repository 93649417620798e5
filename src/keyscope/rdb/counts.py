"""What the compiled reader's fused passes return: the offline counters, as named shapes.

``_speedups.Reader.aggregate`` counts every key by the rules of ``analysis/counting.py``
without a Python object per key and hands back one ``NativeCounts``. These TypedDicts are
its contract (``_speedups.pyi`` refers to them); ``analysis/counting.py`` turns them into
the same counters its pure-Python rules build.
"""

from __future__ import annotations

from typing import Any, TypedDict

from keyscope.domain.keys import KeyType, MemoryBasis

RecordTuple = tuple[int, bytes, KeyType, str, int | None, int, int, int, MemoryBasis]
"""The fields of a KeyRecord, in its order, as the extension builds them."""


class NativeTypeCounts(TypedDict):
    """Per key type: totals, the size histogram and the prefix summary."""

    num: int
    bytes: int
    hist_num: list[int]
    hist_bytes: list[int]
    prefixes: dict[bytes, list[Any]]
    """prefix -> the entry fields of ``PrefixSummary.counts``."""
    decremented: int
    occurrences: int
    ladder: list[tuple[int, int, int, int, list[bytes]]]
    """Per ``ADVICE_LISTPACK_LADDER`` step: keys, bytes, listpack bytes, key bytes, examples."""


class NativeDbCounts(TypedDict):
    db: int
    num: int
    bytes: int
    expires: int
    examples: list[bytes]
    """Its first ``ADVICE_EXAMPLES`` keys."""


class NativeTopEntry(TypedDict):
    """One entry of the top-N heap: ``TopN`` keeps ``(weight, seq, item)``."""

    weight: int
    seq: int
    record: RecordTuple


class NativeCounts(TypedDict):
    types: dict[str, NativeTypeCounts]
    dbs: list[NativeDbCounts]
    ttl_num: list[int]
    ttl_bytes: list[int]
    top: list[NativeTopEntry]
    keys: int
    long_keys: list[int]
    long_examples: list[bytes]
    compressible: list[int]
    """Huge compressible strings: keys, their lengths, their serialized sizes."""
    compressible_examples: list[bytes]
    compressible_lists: list[int]
    """Compressible quicklists: keys, their memory, serialized sizes and names' bytes."""
    compressible_list_examples: list[bytes]
    small_sets: tuple[int, int, int, int, list[bytes]]
    """Small sets of strings in a hash table, as a ladder step."""
