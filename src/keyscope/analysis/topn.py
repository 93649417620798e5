"""The N largest items of a stream, in O(N) memory."""

from __future__ import annotations

import heapq
from typing import Generic, TypeVar

T = TypeVar("T")


class TopN(Generic[T]):
    """Keeps the ``n`` items of largest weight; on equal weight the first offered wins."""

    __slots__ = ("_heap", "_n", "_seq", "floor")

    def __init__(self, n: int) -> None:
        if n < 0:
            raise ValueError("n must not be negative")
        self._n = n
        self._heap: list[tuple[int, int, T]] = []
        self._seq = 0
        self.floor = -1 if n else 1 << 62
        """Weights at or below this cannot enter: callers test it before calling ``offer``."""

    def offer(self, weight: int, item: T) -> None:
        if weight <= self.floor:
            return
        self._seq -= 1
        entry = (weight, self._seq, item)
        heap = self._heap
        if len(heap) < self._n:
            heapq.heappush(heap, entry)
            if len(heap) == self._n:
                self.floor = heap[0][0]
        else:
            heapq.heapreplace(heap, entry)
            self.floor = heap[0][0]

    def load(self, entries: list[tuple[int, int, T]]) -> None:
        """Take ``(weight, seq, item)`` entries kept elsewhere by the same rules (the C path)."""
        self._heap = list(entries)
        heapq.heapify(self._heap)
        self._seq = min((seq for _, seq, _ in entries), default=0)
        if len(self._heap) >= self._n and self._heap:
            self.floor = self._heap[0][0]

    def items(self) -> list[tuple[int, T]]:
        """Largest first; among equal weights, in the order they were offered."""
        return [(w, item) for w, _, item in sorted(self._heap, reverse=True)]
