"""The offline analysis's per-key rules, and the one interface that applies them to an RDB.

Every key counts toward its type's totals and size histogram (``distributions.SIZE_BOUNDS``),
its db's totals, its TTL bucket (``distributions.ttl_bucket``), its type's prefix summary
(``prefixes.py``: cut at the delimiters, Misra-Gries counts) and the top N largest keys
(``topn.py``). ``KeyCounter.feed`` is those rules in Python: the reference. The compiled
reader applies the same rules in C (``rdb/native/aggregate.c``) without a Python object
per key; ``tests/unit/rdb/test_fast_path.py`` holds both to the same report.

``Aggregator`` is the interface to both, the way redis-py hides hiredis: the
``PythonAggregator`` feeds the pure reader's records to a ``KeyCounter``; the
``NativeAggregator`` runs the C pass and loads its counters into one. ``DEFAULT_AGGREGATOR``
is the compiled one where it was built, chosen once at import.
"""

from __future__ import annotations

import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

from keyscope import defaults
from keyscope.analysis.distributions import SIZE_BOUNDS, TTL_BUCKETS, ttl_bucket
from keyscope.analysis.prefixes import PrefixCutter, PrefixSummary
from keyscope.analysis.topn import TopN
from keyscope.domain.keys import KeyRecord
from keyscope.rdb.fast import FAST_PATH_AVAILABLE

if TYPE_CHECKING:
    from keyscope.rdb.counts import NativeCounts
    from keyscope.rdb.memory import MemoryModel

ProgressFn = Callable[[int, int], None]
"""Called with (keys read, bytes read) every few thousand keys; may raise to stop."""

Source = str | Path | BinaryIO


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
    memory_model: MemoryModel | None = None
    """How per-key memory is estimated; None follows the engine that wrote the file."""
    cluster_bound: bool = False
    """Whether the keyspace is to move to a cluster, which has db 0 only (``advice``)."""


LOOSE_ENCODINGS = {"hash": "hashtable", "set": "hashtable", "zset": "skiplist"}
"""The table encoding of each type a listpack could hold instead."""

LADDER = defaults.ADVICE_LISTPACK_LADDER
LADDER_FLOOR = defaults.ADVICE_LISTPACK_FLOOR
SMALL_STRING = defaults.ADVICE_SMALL_STRING_BYTES
LONG_KEY = defaults.ADVICE_LONG_KEY_BYTES
HUGE_STRING = defaults.ADVICE_HUGE_STRING_BYTES
COMPRESSED_QUARTERS = round(4 * defaults.ADVICE_COMPRESSED_SHARE)
COMPRESSIBLE_LIST = defaults.ADVICE_COMPRESSIBLE_LIST_BYTES
EXAMPLES = defaults.ADVICE_EXAMPLES


def listpack_estimate(type_: str, serialized: int, count: int) -> int:
    """The bytes of a listpack holding a collection serialized in ``serialized`` bytes: the
    RDB writes each element with its length, a listpack adds a back-length byte to each
    (two elements per hash field and per sorted-set member) and 7 bytes of header and end."""
    entries = count if type_ == "set" else 2 * count
    return serialized + entries + 7


class LadderStep:
    """Collections in a table encoding with up to ``bound`` elements (above the previous)."""

    __slots__ = ("bytes", "examples", "key_bytes", "listpack_bytes", "num")

    def __init__(self) -> None:
        self.num = 0
        self.bytes = 0
        self.listpack_bytes = 0
        """Their estimated listpack sizes (``listpack_estimate``), summed."""
        self.key_bytes = 0
        """Their key names' lengths, summed."""
        self.examples: list[bytes] = []


class TypeCounts:
    """The counters of one key type."""

    __slots__ = ("bytes", "hist_bytes", "hist_num", "ladder", "num", "prefixes")

    def __init__(self, prefix_capacity: int) -> None:
        self.num = 0
        self.bytes = 0
        self.hist_num = [0] * (len(SIZE_BOUNDS) + 1)
        self.hist_bytes = [0] * (len(SIZE_BOUNDS) + 1)
        self.prefixes = PrefixSummary(prefix_capacity)
        self.ladder = [LadderStep() for _ in LADDER]
        """Listpack-limit crossings by ``ADVICE_LISTPACK_LADDER`` step."""


class KeyCounter:
    """Feed it records (in as many batches as you like); read the counters after."""

    def __init__(self, options: OfflineOptions | None = None) -> None:
        self.options = opts = options or OfflineOptions()
        self.now_ms = opts.now_ms if opts.now_ms is not None else int(time.time() * 1000)
        self.cutter = PrefixCutter(opts.delimiters, opts.prefix_max_depth)
        self.types: dict[str, TypeCounts] = {}
        self.dbs: dict[int, list[int]] = {}
        """db -> [keys, bytes, keys with a TTL]"""
        self.db_examples: dict[int, list[bytes]] = {}
        """db -> its first ``ADVICE_EXAMPLES`` keys."""
        self.ttl_num = [0] * len(TTL_BUCKETS)
        self.ttl_bytes = [0] * len(TTL_BUCKETS)
        self.top: TopN[KeyRecord] = TopN(opts.top_keys)
        self.long_keys = [0, 0]
        """Keys with names over ``ADVICE_LONG_KEY_BYTES``: [keys, their names' bytes]."""
        self.long_examples: list[bytes] = []
        self.compressible = [0, 0, 0]
        """Huge strings the RDB holds LZF-compressed to at most ``ADVICE_COMPRESSED_SHARE``
        of their length: [keys, their lengths, their serialized sizes]."""
        self.compressible_examples: list[bytes] = []
        self.compressible_lists = [0, 0, 0, 0]
        """Quicklists of ``ADVICE_COMPRESSIBLE_LIST_BYTES`` and more the RDB holds compressed
        to at most ``ADVICE_COMPRESSED_SHARE`` of their memory: [keys, their memory, their
        serialized sizes, their names' bytes]."""
        self.compressible_list_examples: list[bytes] = []
        self.small_sets = LadderStep()
        """Sets of up to ``ADVICE_LISTPACK_FLOOR`` short strings in a hash table: an engine
        before Redis 7.2 packs no set of strings in a listpack (``advice.old_engine``)."""
        self.keys_seen = 0
        self.memory_model: MemoryModel | None = opts.memory_model
        """The model the counted records' memory followed, once a reader said which."""

    def feed(self, records: Iterable[KeyRecord]) -> None:
        """Count every record; the loop body is the per-key cost of the whole analysis."""
        types, dbs, top = self.types, self.dbs, self.top
        ttl_num, ttl_bytes, now_ms = self.ttl_num, self.ttl_bytes, self.now_ms
        cut = self.cutter.cut
        capacity = self.options.prefix_capacity
        seen = 0
        for rec in records:
            seen += 1
            mem = rec.memory
            stats = types.get(rec.type)
            if stats is None:
                stats = types[rec.type] = TypeCounts(capacity)
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
            if db[0] <= EXAMPLES:
                self.db_examples.setdefault(rec.db, []).append(rec.key)
            t = ttl_bucket(rec.expiry_ms, now_ms)
            db[2] += t != 0
            ttl_num[t] += 1
            ttl_bytes[t] += mem
            key = rec.key
            prefixes = cut(key)
            if prefixes:
                small = (
                    rec.num_elements
                    if t == 0 and rec.type == "string" and rec.num_elements <= SMALL_STRING
                    else -1
                )
                stats.prefixes.add(prefixes, mem, key, t != 0, small)
            if mem > top.floor:
                top.offer(mem, rec)
            n = rec.num_elements
            if n <= LADDER[-1] and LOOSE_ENCODINGS.get(rec.type) == rec.encoding:
                entries = n if rec.type == "set" else 2 * n
                if rec.serialized_size <= entries * (SMALL_STRING + 1):  # no long elements
                    if n > LADDER_FLOOR:
                        self._cross(stats.ladder[bisect_left(LADDER, n)], rec)
                    elif rec.type == "set":
                        self._cross(self.small_sets, rec)
            if len(key) > LONG_KEY or n >= HUGE_STRING or mem >= COMPRESSIBLE_LIST:
                self._large(rec)
        self.keys_seen += seen

    def _large(self, rec: KeyRecord) -> None:
        """The counters of long names, huge compressible strings and compressible lists."""
        key, n, mem = rec.key, rec.num_elements, rec.memory
        if len(key) > LONG_KEY:
            self.long_keys[0] += 1
            self.long_keys[1] += len(key)
            if len(self.long_examples) < EXAMPLES:
                self.long_examples.append(key)
        if (n >= HUGE_STRING and rec.type == "string"
                and 4 * rec.serialized_size <= COMPRESSED_QUARTERS * n):  # fmt: skip
            self.compressible[0] += 1
            self.compressible[1] += n
            self.compressible[2] += rec.serialized_size
            if len(self.compressible_examples) < EXAMPLES:
                self.compressible_examples.append(key)
        if (mem >= COMPRESSIBLE_LIST and rec.encoding == "quicklist"
                and 4 * rec.serialized_size <= COMPRESSED_QUARTERS * mem):  # fmt: skip
            lists = self.compressible_lists
            lists[0] += 1
            lists[1] += mem
            lists[2] += rec.serialized_size
            lists[3] += len(key)
            if len(self.compressible_list_examples) < EXAMPLES:
                self.compressible_list_examples.append(key)

    @staticmethod
    def _cross(step: LadderStep, rec: KeyRecord) -> None:
        step.num += 1
        step.bytes += rec.memory
        step.listpack_bytes += listpack_estimate(rec.type, rec.serialized_size, rec.num_elements)
        step.key_bytes += len(rec.key)
        if len(step.examples) < EXAMPLES:
            step.examples.append(rec.key)

    def load(self, counts: NativeCounts) -> None:
        """Take the counters of the compiled pass, which counted by the rules of ``feed``."""
        capacity = self.options.prefix_capacity
        for name, native in counts["types"].items():
            stats = self.types[name] = TypeCounts(capacity)
            stats.num, stats.bytes = native["num"], native["bytes"]
            stats.hist_num, stats.hist_bytes = native["hist_num"], native["hist_bytes"]
            stats.prefixes.counts.update(native["prefixes"])
            for step, got in zip(stats.ladder, native["ladder"], strict=True):
                step.num, step.bytes, step.listpack_bytes, step.key_bytes, step.examples = got
            stats.prefixes.decremented = native["decremented"]
            stats.prefixes.occurrences = native["occurrences"]
        for db in counts["dbs"]:
            self.dbs[db["db"]] = [db["num"], db["bytes"], db["expires"]]
            self.db_examples[db["db"]] = list(db["examples"])
        self.ttl_num, self.ttl_bytes = counts["ttl_num"], counts["ttl_bytes"]
        self.top.load([(e["weight"], e["seq"], KeyRecord(*e["record"])) for e in counts["top"]])
        self.long_keys = list(counts["long_keys"])
        self.long_examples = list(counts["long_examples"])
        self.compressible = list(counts["compressible"])
        self.compressible_examples = list(counts["compressible_examples"])
        self.compressible_lists = list(counts["compressible_lists"])
        self.compressible_list_examples = list(counts["compressible_list_examples"])
        step = self.small_sets
        step.num, step.bytes, step.listpack_bytes, step.key_bytes, step.examples = counts[
            "small_sets"
        ]
        self.keys_seen += counts["keys"]


class Aggregator(Protocol):
    """Counts every key of an RDB file or stream; ``RdbFormatError`` if it is corrupt."""

    name: str

    def count(
        self,
        source: Source,
        options: OfflineOptions | None = None,
        *,
        progress: ProgressFn | None = None,
        every: int = 8192,
    ) -> KeyCounter: ...


class PythonAggregator:
    """The pure-Python reader's records fed to the rules of ``KeyCounter.feed``."""

    name = "pure-python"

    def count(
        self,
        source: Source,
        options: OfflineOptions | None = None,
        *,
        progress: ProgressFn | None = None,
        every: int = 8192,
    ) -> KeyCounter:
        from keyscope.rdb.reader import RdbReader

        counter = KeyCounter(options)
        reader = RdbReader(source, memory_model=counter.options.memory_model)
        if progress is None:
            counter.feed(reader)
        else:
            records = iter(reader)
            while batch := list(islice(records, every)):
                counter.feed(batch)
                progress(counter.keys_seen, reader.bytes_read)
            progress(counter.keys_seen, reader.bytes_read)
        counter.memory_model = reader.memory_model
        return counter


class NativeAggregator:
    """The whole pass in C (no Python object per key), loaded into a ``KeyCounter``."""

    name = "compiled"

    def count(
        self,
        source: Source,
        options: OfflineOptions | None = None,
        *,
        progress: ProgressFn | None = None,
        every: int = 8192,
    ) -> KeyCounter:
        from keyscope.rdb.fast import count_keys

        counter = KeyCounter(options)
        opts = counter.options
        counts, counter.memory_model = count_keys(
            source,
            top_keys=opts.top_keys,
            capacity=opts.prefix_capacity,
            delimiters=counter.cutter.delimiters,
            max_depth=counter.cutter.max_depth,
            now_ms=counter.now_ms,
            progress=progress,
            every=every,
            memory_model=opts.memory_model,
        )
        counter.load(counts)
        return counter


DEFAULT_AGGREGATOR: Aggregator = NativeAggregator() if FAST_PATH_AVAILABLE else PythonAggregator()
"""The compiled aggregator where the extension was built, else the pure one."""
