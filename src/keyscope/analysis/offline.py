"""Offline full-key analysis: one pass over the key records of an RDB, in bounded memory.

The report carries exactly the result fields of DCS ``ShowOfflineKeyAnalysisTask``
(``largest_keys``, ``largest_key_prefixes``, ``type_bytes``, ``type_num``, ``total_bytes``,
``total_num``) plus keyscope extensions the SDK ignores: ``db_stats``, ``ttl_distribution``,
``size_histograms`` and how exact the prefix counts are. ``bytes`` is always the record's
``memory`` estimate. Memory use is O(top + prefix capacity), never O(keys).
"""

from __future__ import annotations

import time
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from keyscope import defaults
from keyscope.analysis.distributions import (
    SIZE_BOUNDS,
    TTL_BUCKETS,
    size_bucket_labels,
    ttl_bucket,
)
from keyscope.analysis.prefixes import PrefixCutter, PrefixSummary
from keyscope.analysis.topn import TopN
from keyscope.domain.keys import KeyRecord

if TYPE_CHECKING:
    from keyscope.rdb.fast import NativeReader

TYPE_ORDER = ("string", "list", "set", "zset", "hash", "stream", "module")
"""Order of types in every per-type list of the report; only types present are listed."""


def display_key(raw: bytes) -> str:
    """A key as text: UTF-8 where it is, backslash escapes for the other bytes."""
    return raw.decode("utf-8", "backslashreplace")


@dataclass(frozen=True, slots=True)
class OfflineOptions:
    """What the caller may tune; the defaults are DCS's."""

    top_keys: int = defaults.OFFLINE_TOP_KEYS
    top_prefixes: int = defaults.OFFLINE_TOP_PREFIXES
    delimiters: str = defaults.PREFIX_DELIMITERS
    prefix_capacity: int = defaults.PREFIX_CAPACITY
    prefix_max_depth: int = defaults.PREFIX_MAX_DEPTH
    now_ms: int | None = None
    """The instant TTLs are measured from; None means when the analysis starts."""


@dataclass(frozen=True, slots=True)
class LargestKey:
    key: str
    type: str
    bytes: int
    num_of_elem: int


@dataclass(frozen=True, slots=True)
class KeyPrefix:
    key_prefix: str
    type: str
    bytes: int
    num: int


@dataclass(frozen=True, slots=True)
class TypeBytes:
    type: str
    bytes: int


@dataclass(frozen=True, slots=True)
class TypeNum:
    type: str
    num: int


@dataclass(frozen=True, slots=True)
class DbStats:
    db: int
    num: int
    bytes: int
    expires: int


@dataclass(frozen=True, slots=True)
class TtlBucket:
    bucket: str
    num: int
    bytes: int


@dataclass(frozen=True, slots=True)
class SizeBucket:
    range: str
    num: int
    bytes: int


@dataclass(frozen=True, slots=True)
class TypeSizeHistogram:
    type: str
    buckets: list[SizeBucket]


@dataclass(frozen=True, slots=True)
class PrefixAccuracy:
    """Per type: whether prefix counts are exact, else how much ``num`` may undercount."""

    type: str
    exact: bool
    max_undercount: int


@dataclass(frozen=True, slots=True)
class OfflineReport:
    """The result of an offline analysis; ``to_dict`` is its JSON form."""

    largest_key_prefixes: list[KeyPrefix]
    largest_keys: list[LargestKey]
    total_bytes: int
    total_num: int
    type_bytes: list[TypeBytes]
    type_num: list[TypeNum]
    db_stats: list[DbStats] = field(default_factory=list)
    ttl_distribution: list[TtlBucket] = field(default_factory=list)
    size_histograms: list[TypeSizeHistogram] = field(default_factory=list)
    prefix_accuracy: list[PrefixAccuracy] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _TypeStats:
    __slots__ = ("bytes", "hist_bytes", "hist_num", "num", "prefixes")

    def __init__(self, prefix_capacity: int) -> None:
        self.num = 0
        self.bytes = 0
        self.hist_num = [0] * (len(SIZE_BOUNDS) + 1)
        self.hist_bytes = [0] * (len(SIZE_BOUNDS) + 1)
        self.prefixes = PrefixSummary(prefix_capacity)


class OfflineAggregator:
    """Feed it records (in as many batches as you like), then ask for the report."""

    def __init__(self, options: OfflineOptions | None = None) -> None:
        self.options = opts = options or OfflineOptions()
        self._now_ms = opts.now_ms if opts.now_ms is not None else int(time.time() * 1000)
        self._cutter = PrefixCutter(opts.delimiters, opts.prefix_max_depth)
        self._types: dict[str, _TypeStats] = {}
        self._dbs: dict[int, list[int]] = {}
        self._ttl_num = [0] * len(TTL_BUCKETS)
        self._ttl_bytes = [0] * len(TTL_BUCKETS)
        self._top: TopN[KeyRecord] = TopN(opts.top_keys)
        self.keys_seen = 0

    def feed(self, records: Iterable[KeyRecord]) -> None:  # noqa: PLR0915
        """Count every record; the loop body is the per-key cost of the whole analysis.

        Prefix cutting and counting are inlined here (``PrefixCutter.cut`` and
        ``PrefixSummary.add`` do the same, one call each) because they dominate that cost.
        """
        types = self._types
        dbs = self._dbs
        ttl_num, ttl_bytes = self._ttl_num, self._ttl_bytes
        now_ms = self._now_ms
        cutter = self._cutter
        delim, table, max_depth = cutter.delimiter, cutter.table, cutter.max_depth
        top = self._top
        capacity = self.options.prefix_capacity
        seen = 0
        for rec in records:
            seen += 1
            mem = rec.memory
            stats = types.get(rec.type)
            if stats is None:
                stats = types[rec.type] = _TypeStats(capacity)
            stats.num += 1
            stats.bytes += mem
            b = bisect_right(SIZE_BOUNDS, mem)
            stats.hist_num[b] += 1
            stats.hist_bytes[b] += mem
            db = dbs.get(rec.db)
            if db is None:
                db = dbs[rec.db] = [0, 0, 0]
            db[0] += 1
            db[1] += mem
            expiry = rec.expiry_ms
            if expiry is None:
                ttl_num[0] += 1
                ttl_bytes[0] += mem
            else:
                db[2] += 1
                t = ttl_bucket(expiry, now_ms)
                ttl_num[t] += 1
                ttl_bytes[t] += mem
            key = rec.key
            scan = key if table is None else key.translate(table)
            pos = scan.find(delim)
            if pos >= 0:
                summary = stats.prefixes
                counts = summary.counts
                depth = 0
                while pos >= 0 and depth < max_depth:
                    if pos:
                        depth += 1
                        prefix = key[:pos]
                        entry = counts.get(prefix)
                        if entry is None:
                            counts[prefix] = [1, mem]
                        else:
                            entry[0] += 1
                            entry[1] += mem
                    pos = scan.find(delim, pos + 1)
                summary.occurrences += depth
                if len(counts) > summary.limit:
                    summary.prune()
            if mem > top.floor:
                top.offer(mem, rec)
        self.keys_seen += seen

    def feed_native(
        self, native: NativeReader, *, progress: ProgressFn | None = None, every: int = 8192
    ) -> None:
        """Count every key of a compiled reader in C, by the rules of ``feed`` (fresh only)."""
        opts, cutter = self.options, self._cutter
        state = native.aggregate(opts.top_keys, opts.prefix_capacity, cutter.delimiters,
                                 cutter.max_depth, self._now_ms, progress, every)  # fmt: skip
        for name, (num, nbytes, hist_num, hist_bytes, counts, decremented, occurrences) in state[
            "types"
        ].items():
            stats = self._types[name] = _TypeStats(self.options.prefix_capacity)
            stats.num, stats.bytes = num, nbytes
            stats.hist_num, stats.hist_bytes = hist_num, hist_bytes
            stats.prefixes.counts.update(counts)
            stats.prefixes.decremented = decremented
            stats.prefixes.occurrences = occurrences
        for db, num, nbytes, expires in state["dbs"]:
            self._dbs[db] = [num, nbytes, expires]
        self._ttl_num, self._ttl_bytes = state["ttl_num"], state["ttl_bytes"]
        self._top.load([(w, seq, KeyRecord(*row)) for w, seq, row in state["top"]])
        self.keys_seen += state["keys"]

    def report(self) -> OfflineReport:
        opts = self.options
        present = [t for t in TYPE_ORDER if t in self._types]
        present += sorted(t for t in self._types if t not in TYPE_ORDER)
        stats = [(t, self._types[t]) for t in present]
        labels = size_bucket_labels()
        return OfflineReport(
            largest_key_prefixes=[
                KeyPrefix(display_key(p.prefix), t, p.bytes, p.num)
                for t, s in stats
                for p in s.prefixes.top(opts.top_prefixes)
            ],
            largest_keys=[
                LargestKey(display_key(r.key), r.type, mem, r.num_elements)
                for mem, r in self._top.items()
            ],
            total_bytes=sum(s.bytes for _, s in stats),
            total_num=sum(s.num for _, s in stats),
            type_bytes=[TypeBytes(t, s.bytes) for t, s in stats],
            type_num=[TypeNum(t, s.num) for t, s in stats],
            db_stats=[DbStats(db, *self._dbs[db]) for db in sorted(self._dbs)],
            ttl_distribution=[
                TtlBucket(name, n, b)
                for name, n, b in zip(TTL_BUCKETS, self._ttl_num, self._ttl_bytes, strict=True)
            ],
            size_histograms=[
                TypeSizeHistogram(
                    t,
                    [
                        SizeBucket(label, n, b)
                        for label, n, b in zip(labels, s.hist_num, s.hist_bytes, strict=True)
                    ],
                )
                for t, s in stats
            ],
            prefix_accuracy=[
                PrefixAccuracy(t, s.prefixes.exact, s.prefixes.decremented) for t, s in stats
            ],
        )


def analyze_records(
    records: Iterable[KeyRecord], options: OfflineOptions | None = None
) -> OfflineReport:
    """The offline report of a stream of key records, in one pass."""
    agg = OfflineAggregator(options)
    agg.feed(records)
    return agg.report()


ProgressFn = Callable[[int, int], None]
"""Called with (keys read, bytes read) every few thousand keys; may raise to stop."""


def analyze_rdb(
    source: str | Path | BinaryIO,
    options: OfflineOptions | None = None,
    *,
    progress: ProgressFn | None = None,
    every: int = 8192,
) -> OfflineReport:
    """The offline report of an RDB file or stream; ``RdbFormatError`` if it is corrupt.

    On the compiled path the whole pass runs in C (no Python object per key) and yields the
    same report, byte for byte, as feeding the pure reader's records to the aggregator.
    """
    from keyscope.rdb import FAST_PATH_AVAILABLE, PureRdbReader

    if FAST_PATH_AVAILABLE:
        from keyscope.rdb.fast import open_native

        agg = OfflineAggregator(options)
        native, release = open_native(source)
        try:
            agg.feed_native(native, progress=progress, every=every)
        finally:
            release()
        return agg.report()
    reader = PureRdbReader(source)
    agg = OfflineAggregator(options)
    if progress is None:
        agg.feed(reader)
    else:
        records = iter(reader)
        while batch := list(islice(records, every)):
            agg.feed(batch)
            progress(agg.keys_seen, reader.bytes_read)
        progress(agg.keys_seen, reader.bytes_read)
    return agg.report()
