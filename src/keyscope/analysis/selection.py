"""Pure selection rules of the online analyses: which keys are big or hot, and which are kept.

Big keys (DCS user guide): a String over ``string_bytes``; a collection with more than
``collection_elements`` elements or whose memory exceeds ``collection_bytes``. Kept: at most
``max_strings`` Strings and ``max_per_collection_type`` of each collection type, the largest
of each; at most ``max_records`` in all. Reported grouped by type (string, list, set, zset,
hash, stream), largest first within a type.

Hot keys: the ``max_records`` keys with the highest LFU counter, at least ``min_freq``.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from typing import Literal

from keyscope.domain.keys import BigKey, KeyType
from keyscope.domain.names import name_text
from keyscope.domain.scan import BigKeyThresholds

TYPE_ORDER: tuple[KeyType, ...] = ("string", "list", "set", "zset", "hash", "stream")
"""Order of types in a big-key report: the DCS ones first, streams last."""


SizedRecord = tuple[bytes, str, int, int | None, int, str | None]
"""(name, type, size, memory or None, db, shard): a probed key as the rules see it."""

FreqRecord = tuple[bytes, int, int, str | None]
"""(name, freq, db, shard)."""


def key_name(raw: bytes) -> str:
    """Keys are binary; a name as every output writes it (``domain/names.py``)."""
    return name_text(raw)[0]


def _big_key(
    raw: bytes, type_: KeyType, db: int, size: int, shard: str | None, *, memory: int | None
) -> BigKey:
    text, b64 = name_text(raw)
    return BigKey(text, type_, db, size, unit_of(type_), shard, b64, memory)


def unit_of(type_: str) -> Literal["byte", "count"]:
    return "byte" if type_ == "string" else "count"


def is_big(type_: str, size: int, memory: int | None, t: BigKeyThresholds) -> bool:
    """The DCS big-key rule for one key."""
    if type_ == "string":
        return size > t.string_bytes
    if size > t.collection_elements:
        return True
    return memory is not None and memory > t.collection_bytes


class BigKeySelector:
    """Feeds on probed keys, keeps the largest big keys of each type within the DCS limits."""

    def __init__(self, thresholds: BigKeyThresholds | None = None) -> None:
        self.thresholds = thresholds or BigKeyThresholds()
        self._heaps: dict[str, list[tuple[int, bytes, int, str | None, int]]] = {}
        self.seen = 0

    def _limit(self, type_: str) -> int:
        t = self.thresholds
        return t.max_strings if type_ == "string" else t.max_per_collection_type

    def add(self, records: Iterable[SizedRecord]) -> None:
        t = self.thresholds
        smin, cmin, mmin = t.string_bytes, t.collection_elements, t.collection_bytes
        n = 0
        for name, type_, size, memory, db, shard in records:
            n += 1
            if type_ == "string":
                if size <= smin:
                    continue
            elif size <= cmin and (memory is None or memory <= mmin):
                continue
            self._offer(type_, (size, name, db, shard, -1 if memory is None else memory))
        self.seen += n

    def _offer(self, type_: str, entry: tuple[int, bytes, int, str | None, int]) -> None:
        # memory -1 where unknown: a key seen twice (a resharding) still compares
        heap = self._heaps.setdefault(type_, [])
        limit = self._limit(type_)
        if limit <= 0:
            return
        if len(heap) < limit:
            heapq.heappush(heap, entry)
        elif entry > heap[0]:
            heapq.heapreplace(heap, entry)

    def result(self) -> list[BigKey]:
        out: list[BigKey] = []
        for type_ in TYPE_ORDER:
            entries = sorted(self._heaps.get(type_, []), key=lambda e: (-e[0], e[1]))
            out.extend(
                _big_key(name, type_, db, size, shard, memory=None if memory < 0 else memory)
                for size, name, db, shard, memory in entries
            )
        return out[: self.thresholds.max_records]


class HotKeySelector:
    """Keeps the ``max_records`` keys with the highest LFU counter (ties keep the greater name)."""

    def __init__(self, max_records: int, min_freq: int = 0) -> None:
        self.max_records = max_records
        self.min_freq = min_freq
        self._heap: list[tuple[int, bytes, int, str | None]] = []

    def add(self, records: Iterable[FreqRecord]) -> None:
        heap, limit, low = self._heap, self.max_records, self.min_freq
        if limit <= 0:
            return
        for name, freq, db, shard in records:
            if freq < low:
                continue
            entry = (freq, name, db, shard)
            if len(heap) < limit:
                heapq.heappush(heap, entry)
            elif entry > heap[0]:
                heapq.heapreplace(heap, entry)
            low = max(low, heap[0][0]) if len(heap) == limit else low

    @property
    def floor(self) -> int:
        """The lowest counter that can still enter the top N."""
        if len(self._heap) < self.max_records:
            return self.min_freq
        return max(self.min_freq, self._heap[0][0])

    def top(self) -> list[tuple[int, bytes, int, str | None]]:
        """(freq, name, db, shard), hottest first."""
        return sorted(self._heap, key=lambda e: (-e[0], e[1]))
