"""How many keys two snapshots share, in bounded memory: a k-minimum-values sketch per side.

Each side keeps the ``k`` smallest 64-bit hashes of its keys (``db`` and name). While a
side has at most ``k`` keys its sketch holds every hash, and the overlap of two such sides
is exact (up to a 64-bit hash collision). Beyond that, the ``k`` smallest hashes of the
union are a uniform sample of it: the share of them found in both sides estimates the
Jaccard index ``J``, and with both sides' exact key counts ``|A ∩ B| = J (|A| + |B|) /
(1 + J)``; its relative error is about ``1 / sqrt(k)`` of the union. Memory is O(k).

Hashes are Python's salted ``hash`` of the key: stable within one process, which is all a
diff of two files read by that process needs.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from typing import Any, NamedTuple

from keyscope import defaults
from keyscope.domain.keys import KeyRecord

_MASK = (1 << 64) - 1
_DB_MIX = 0x9E3779B97F4A7C15


class KeySketch:
    """The ``k`` smallest key hashes of one snapshot, and its exact key count."""

    __slots__ = ("count", "heap", "k")

    def __init__(self, k: int = defaults.DIFF_SKETCH_KEYS) -> None:
        if k < 2:
            raise ValueError("k must be at least 2")
        self.k = k
        self.heap: list[int] = []
        """Negated hashes: a max-heap of the k smallest."""
        self.count = 0

    def feed(self, records: Iterable[KeyRecord]) -> None:
        heap, k = self.heap, self.k
        seen = 0
        for rec in records:
            seen += 1
            h = -((hash(rec.key) + rec.db * _DB_MIX) & _MASK)
            if len(heap) < k:
                heapq.heappush(heap, h)
            elif h > heap[0]:
                heapq.heapreplace(heap, h)
        self.count += seen

    @property
    def complete(self) -> bool:
        """Whether the sketch holds the hash of every key."""
        return self.count <= self.k

    def hashes(self) -> set[int]:
        return {-h for h in self.heap}


class KeyOverlap(NamedTuple):
    """Keys of the new snapshot that the old lacked (``added``), and the reverse."""

    added: int
    removed: int
    kept: int
    exact: bool
    sketch_keys: int

    def to_dict(self) -> dict[str, Any]:
        return self._asdict()


def overlap(old: KeySketch, new: KeySketch) -> KeyOverlap:
    """The keys added and removed from ``old`` to ``new``; exact while both are complete."""
    a, b = old.hashes(), new.hashes()
    k = min(old.k, new.k)
    if old.complete and new.complete:
        kept = len(a & b)
        exact = True
    else:
        union = heapq.nsmallest(k, a | b)
        both = sum(1 for h in union if h in a and h in b)
        jaccard = both / len(union) if union else 0.0
        kept = round(jaccard * (old.count + new.count) / (1 + jaccard))
        kept = max(0, min(kept, old.count, new.count))
        exact = False
    return KeyOverlap(new.count - kept, old.count - kept, kept, exact, k)
