"""Key-prefix counting in bounded memory: a batched Misra-Gries summary per key type.

A key ``a:b:c`` counts once for each of its proper prefixes ``a`` and ``a:b`` (up to
``max_depth`` levels); a key without a delimiter has no prefix. Each summary keeps at most
``2 * capacity`` prefixes. When it overflows, the count of its ``capacity + 1``-th largest
prefix, ``c``, is subtracted from every prefix and those left at zero or below are dropped.

Guarantee (Misra-Gries): every pruning removes at least ``(capacity + 1) * c`` from the
total of the counters, so a reported ``num`` undercounts the true number by at most
``N / (capacity + 1)``, where ``N`` is the number of prefix occurrences of that type, and
every prefix whose true count exceeds that bound is still present. ``bytes`` is the bytes
of the keys counted while the prefix was tracked, likewise a lower bound. While no pruning
happened (``exact``), both are exact; memory is O(capacity) whatever the keyspace.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from typing import Any, NamedTuple

from keyscope import defaults


class PrefixCount(NamedTuple):
    """One prefix of one key type: how many keys carry it and their bytes."""

    prefix: bytes
    num: int
    bytes: int


class PrefixCutter:
    """Cuts keys into prefixes at any of a set of one-byte delimiters."""

    __slots__ = ("delimiter", "delimiters", "max_depth", "table")

    def __init__(self, delimiters: Iterable[str] | str = defaults.PREFIX_DELIMITERS,
                 max_depth: int = defaults.PREFIX_MAX_DEPTH) -> None:  # fmt: skip
        raw = [d.encode() if isinstance(d, str) else bytes(d) for d in delimiters]
        chars = sorted({b for d in raw for b in d})
        if not chars:
            raise ValueError("at least one delimiter is needed")
        if max_depth < 1:
            raise ValueError("max_depth must be at least 1")
        self.delimiters = bytes(chars)
        """Every delimiter byte."""
        self.delimiter = bytes([chars[0]])
        # Several delimiters become one by translation, so the hot loop does plain finds.
        self.table: bytes | None = None
        if len(chars) > 1:
            table = bytearray(range(256))
            for c in chars[1:]:
                table[c] = chars[0]
            self.table = bytes(table)
        self.max_depth = max_depth

    def cut(self, key: bytes) -> list[bytes]:
        """The proper prefixes of ``key``, shortest first, without their trailing delimiter."""
        scan = key.translate(self.table) if self.table is not None else key
        out: list[bytes] = []
        delim = self.delimiter
        pos = scan.find(delim)
        while pos >= 0 and len(out) < self.max_depth:
            if pos > 0:
                out.append(key[:pos])
            pos = scan.find(delim, pos + 1)
        return out


# The fields of a summary entry: ``num`` and ``bytes`` are the report's; the rest feed the
# recommendations (``analysis/advice.py``), lower bounds as ``bytes`` is: keys with a TTL,
# keys without one and their bytes, small strings (``defaults.ADVICE_SMALL_STRING_BYTES``,
# no TTL) with their bytes and payload (the key's suffix after the prefix plus the value's
# length), and the first key seen without a TTL and the first small string.
NUM, BYTES, TTL_NUM, NOTTL_NUM, NOTTL_BYTES, SMALL_NUM, SMALL_BYTES, SMALL_PAYLOAD = range(8)
NOTTL_EXAMPLE, SMALL_EXAMPLE = 8, 9


class PrefixSummary:
    """Heavy-hitter prefix counts of one key type; see the module docstring for bounds."""

    __slots__ = ("capacity", "counts", "decremented", "limit", "occurrences")

    def __init__(self, capacity: int = defaults.PREFIX_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self.limit = 2 * capacity
        """Size at which ``prune`` must run; hot loops may update ``counts`` themselves."""
        self.counts: dict[bytes, list[Any]] = {}
        """prefix -> the entry fields above; the same dict object for the life of the
        summary."""
        self.decremented = 0
        """Total subtracted from every counter by prunings: the error bound of ``num``."""
        self.occurrences = 0

    @property
    def exact(self) -> bool:
        return self.decremented == 0

    def __len__(self) -> int:
        return len(self.counts)

    def add(
        self,
        prefixes: list[bytes],
        nbytes: int,
        key: bytes = b"",
        has_ttl: bool = False,
        small: int = -1,
    ) -> None:
        """Count one key of ``nbytes`` under each of its ``prefixes``; ``small`` is the
        value length of a small string without a TTL, else -1."""
        self.occurrences += len(prefixes)
        counts = self.counts
        for prefix in prefixes:
            entry = counts.get(prefix)
            if entry is None:
                entry = counts[prefix] = [0, 0, 0, 0, 0, 0, 0, 0, None, None]
            entry[NUM] += 1
            entry[BYTES] += nbytes
            if has_ttl:
                entry[TTL_NUM] += 1
            else:
                entry[NOTTL_NUM] += 1
                entry[NOTTL_BYTES] += nbytes
                if entry[NOTTL_EXAMPLE] is None:
                    entry[NOTTL_EXAMPLE] = key
            if small >= 0:
                entry[SMALL_NUM] += 1
                entry[SMALL_BYTES] += nbytes
                entry[SMALL_PAYLOAD] += len(key) - len(prefix) - 1 + small
                if entry[SMALL_EXAMPLE] is None:
                    entry[SMALL_EXAMPLE] = key
        if len(counts) > self.limit:
            self.prune()

    def prune(self) -> None:
        """Subtract the (capacity+1)-th largest count from all; drop what reaches zero."""
        counts = self.counts
        if len(counts) <= self.capacity:
            return
        cut = heapq.nlargest(self.capacity + 1, (e[0] for e in counts.values()))[-1]
        self.decremented += cut
        for prefix in [p for p, e in counts.items() if e[0] <= cut]:
            del counts[prefix]
        for entry in counts.values():
            entry[0] -= cut

    def top(self, n: int) -> list[PrefixCount]:
        """The ``n`` prefixes with the most keys; ties go to more bytes, then the prefix."""
        best = heapq.nsmallest(
            n, self.counts.items(), key=lambda item: (-item[1][0], -item[1][1], item[0])
        )
        return [PrefixCount(prefix, entry[0], entry[1]) for prefix, entry in best]
