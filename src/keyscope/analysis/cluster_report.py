"""The cluster-wide offline report (keyscope extension): every shard's report merged.

Each shard's RDB is read on its own, one after another, by ``analyze_shard`` (the DCS report
of that file, plus where its keys sit in the slot space), so memory stays that of one
shard's analysis whatever the cluster holds. ``merge_shard_reports`` then adds them up:

- totals, per-type, per-db, TTL and size-histogram figures are sums (exact);
- the largest keys are the largest of the shards' lists (exact: the cluster's top N are
  among the shards' top N), each with its ``shard``;
- a prefix's counts are the sums of what each shard listed. A shard lists only its top
  prefixes of a type, so where a shard's list is full a prefix it left out may have up to
  its smallest listed count there: ``prefix_accuracy`` adds those bounds to the shards' own;
- skew: keys and bytes per shard with their shares, the heaviest slots and hash tags.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

from keyscope import defaults
from keyscope.analysis.counting import KeyCounter, OfflineOptions, ProgressFn
from keyscope.analysis.offline import (
    TYPE_ORDER,
    DbStats,
    KeyPrefix,
    MemoryModelUsed,
    OfflineReport,
    PrefixAccuracy,
    SizeBucket,
    TtlBucket,
    TypeBytes,
    TypeNum,
    TypeSizeHistogram,
    report_of,
)
from keyscope.analysis.slots import SlotStats, SlotTally, key_slot
from keyscope.domain.names import name_text

TOP_SLOTS = 20
"""Heaviest slots the cluster-wide report lists."""

TOP_HASH_TAGS = 20
"""Hash tags with the most keys the cluster-wide report lists (and each shard keeps)."""


class ShardReport(NamedTuple):
    """One shard's offline report and its slot figures; ``shard`` names it (``ip:port``
    or a file)."""

    shard: str
    report: OfflineReport
    slots: SlotStats
    top_prefixes: int = defaults.OFFLINE_TOP_PREFIXES
    """How many prefixes of a type ``report`` lists at most (a full list may leave some out)."""


class ShardKey(NamedTuple):
    """A ``LargestKey`` (its fields in its order) and the shard it is in."""

    key: str
    key_base64: str | None
    type: str
    bytes: int
    num_of_elem: int
    db: int
    shard: str


class ShardShare(NamedTuple):
    shard: str
    num: int
    bytes: int
    num_share: float
    bytes_share: float


class Skew(NamedTuple):
    """How uneven the cluster is: the heaviest shard over the mean (1.0 is even)."""

    heaviest_shard: str | None
    bytes_max_over_mean: float
    num_max_over_mean: float
    slots_with_keys: int
    heaviest_slot_bytes_share: float


class ShardSlot(NamedTuple):
    slot: int
    shard: str
    num: int
    bytes: int


class ShardHashTag(NamedTuple):
    hash_tag: str
    hash_tag_base64: str | None
    """The tag's exact bytes where ``hash_tag`` is escaped (``domain/names.py``)."""
    slot: int
    shard: str
    num: int
    bytes: int


class HashTagAccuracy(NamedTuple):
    exact: bool
    max_undercount: int


class ClusterReport(NamedTuple):
    """The merged report; the DCS fields of ``OfflineReport`` plus the shard and skew ones."""

    shards: list[ShardShare]
    skew: Skew
    largest_keys: list[ShardKey]
    largest_key_prefixes: list[KeyPrefix]
    total_bytes: int
    total_num: int
    type_bytes: list[TypeBytes]
    type_num: list[TypeNum]
    db_stats: list[DbStats]
    ttl_distribution: list[TtlBucket]
    size_histograms: list[TypeSizeHistogram]
    prefix_accuracy: list[PrefixAccuracy]
    heaviest_slots: list[ShardSlot]
    heaviest_hash_tags: list[ShardHashTag]
    hash_tag_accuracy: HashTagAccuracy
    memory_model: MemoryModelUsed | None

    def to_dict(self) -> dict[str, Any]:
        return {name: _plain(value) for name, value in zip(self._fields, self, strict=True)}


def _plain(value: object) -> Any:
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, tuple):  # a record; a base64 name only where needed
        fields = zip(value._fields, value, strict=True)  # type: ignore[attr-defined]
        return {name: _plain(v) for name, v in fields if v is not None}
    return value


def analyze_shard(
    shard: str,
    source: str | Path | BinaryIO,
    options: OfflineOptions | None = None,
    *,
    progress: ProgressFn | None = None,
    every: int = 8192,
) -> ShardReport:
    """One shard's RDB in one streaming pass: its DCS report and its slot figures."""
    from keyscope.rdb import RdbReader

    counter = KeyCounter(options)
    tally = SlotTally()
    reader = RdbReader(source, memory_model=counter.options.memory_model)
    records = tally.observe(reader)
    while batch := list(islice(records, every)):
        counter.feed(batch)
        if progress is not None:
            progress(counter.keys_seen, reader.bytes_read)
    counter.memory_model = reader.memory_model
    top = counter.options.top_prefixes
    return ShardReport(shard, report_of(counter), tally.stats(TOP_SLOTS, TOP_HASH_TAGS), top)


def _types(shards: Sequence[ShardReport]) -> list[str]:
    seen = {t.type for s in shards for t in s.report.type_num}
    return [t for t in TYPE_ORDER if t in seen] + sorted(seen - set(TYPE_ORDER))


def _prefixes(
    shards: Sequence[ShardReport], types: list[str], top: int
) -> tuple[list[KeyPrefix], list[PrefixAccuracy]]:
    """Summed prefixes per type, and how much each type's counts may undercount."""
    sums: dict[str, dict[tuple[str, str | None], list[int]]] = {t: {} for t in types}
    undercount = dict.fromkeys(types, 0)
    for shard in shards:
        by_type: dict[str, list[KeyPrefix]] = {}
        for p in shard.report.largest_key_prefixes:
            by_type.setdefault(p.type, []).append(p)
            entry = sums[p.type].setdefault((p.key_prefix, p.key_prefix_base64), [0, 0])
            entry[0] += p.num
            entry[1] += p.bytes
        for acc in shard.report.prefix_accuracy:
            undercount[acc.type] += acc.max_undercount
            shown = by_type.get(acc.type, [])
            if shown and len(shown) >= shard.top_prefixes:  # a full list may leave some out
                undercount[acc.type] += min(p.num for p in shown)
    prefixes = []
    for t in types:
        ranked = sorted(sums[t].items(), key=lambda item: (-item[1][0], -item[1][1], item[0]))
        prefixes += [KeyPrefix(name, b64, t, b, n) for (name, b64), (n, b) in ranked[:top]]
    exact = {t: undercount[t] == 0 for t in types}
    return prefixes, [PrefixAccuracy(t, exact[t], undercount[t]) for t in types]


def _histograms(shards: Sequence[ShardReport], types: list[str]) -> list[TypeSizeHistogram]:
    sums: dict[str, dict[str, list[int]]] = {t: {} for t in types}
    for shard in shards:
        for hist in shard.report.size_histograms:
            for bucket in hist.buckets:
                entry = sums[hist.type].setdefault(bucket.range, [0, 0])
                entry[0] += bucket.num
                entry[1] += bucket.bytes
    return [
        TypeSizeHistogram(t, [SizeBucket(r, n, b) for r, (n, b) in sums[t].items()]) for t in types
    ]


def _memory_model(shards: Sequence[ShardReport]) -> MemoryModelUsed | None:
    models = {s.report.memory_model for s in shards}
    return models.pop() if len(models) == 1 else None


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _occupied(shards: Sequence[ShardReport]) -> int:
    """Slots holding a key in any shard (a slot found in two shards counts once)."""
    union = 0
    for shard in shards:
        union |= int.from_bytes(shard.slots.occupied, "little")
    return union.bit_count()


def _skew(
    shards: list[ShardShare], slots: list[ShardSlot], occupied: int, total_bytes: int
) -> Skew:
    if not shards:
        return Skew(None, 0.0, 0.0, 0, 0.0)
    heaviest = max(shards, key=lambda s: (s.bytes, s.num))
    mean_bytes = sum(s.bytes for s in shards) / len(shards)
    mean_num = sum(s.num for s in shards) / len(shards)
    return Skew(
        heaviest_shard=heaviest.shard,
        bytes_max_over_mean=round(heaviest.bytes / mean_bytes, 4) if mean_bytes else 0.0,
        num_max_over_mean=round(max(s.num for s in shards) / mean_num, 4) if mean_num else 0.0,
        slots_with_keys=occupied,
        heaviest_slot_bytes_share=_share(max((s.bytes for s in slots), default=0), total_bytes),
    )


def merge_shard_reports(
    shards: Sequence[ShardReport],
    *,
    top_keys: int = defaults.OFFLINE_TOP_KEYS,
    top_prefixes: int = defaults.OFFLINE_TOP_PREFIXES,
    top_slots: int = TOP_SLOTS,
    top_hash_tags: int = TOP_HASH_TAGS,
) -> ClusterReport:
    """The cluster-wide report of the shards' reports (see the module docstring)."""
    types = _types(shards)
    type_sums = {t: [0, 0] for t in types}
    dbs: dict[int, list[int]] = {}
    ttl: dict[str, list[int]] = {}
    keys: list[tuple[int, int, int, ShardKey]] = []
    slots: list[ShardSlot] = []
    tags: list[ShardHashTag] = []
    tags_undercount, tags_exact = 0, True
    for index, shard in enumerate(shards):
        report = shard.report
        for tb, tn in zip(report.type_bytes, report.type_num, strict=True):
            type_sums[tb.type][0] += tn.num
            type_sums[tb.type][1] += tb.bytes
        for db in report.db_stats:
            entry = dbs.setdefault(db.db, [0, 0, 0])
            entry[0] += db.num
            entry[1] += db.bytes
            entry[2] += db.expires
        for bucket in report.ttl_distribution:
            entry = ttl.setdefault(bucket.bucket, [0, 0])
            entry[0] += bucket.num
            entry[1] += bucket.bytes
        keys += [
            (-k.bytes, index, position, ShardKey(*k, shard.shard))
            for position, k in enumerate(report.largest_keys)
        ]
        slots += [ShardSlot(s.slot, shard.shard, s.num, s.bytes) for s in shard.slots.slots]
        tags += [
            ShardHashTag(*name_text(t.prefix), key_slot(t.prefix), shard.shard, t.num, t.bytes)
            for t in shard.slots.hash_tags
        ]
        tags_exact = tags_exact and shard.slots.hash_tags_exact
        tags_undercount += shard.slots.hash_tags_undercount
    total_num = sum(n for n, _ in type_sums.values())
    total_bytes = sum(b for _, b in type_sums.values())
    shares = [
        ShardShare(
            s.shard,
            s.report.total_num,
            s.report.total_bytes,
            _share(s.report.total_num, total_num),
            _share(s.report.total_bytes, total_bytes),
        )
        for s in shards
    ]
    prefixes, accuracy = _prefixes(shards, types, top_prefixes)
    slots.sort(key=lambda s: (-s.bytes, -s.num, s.slot, s.shard))
    tags.sort(key=lambda t: (-t.num, -t.bytes, t.hash_tag, t.shard))
    return ClusterReport(
        shards=shares,
        skew=_skew(shares, slots, _occupied(shards), total_bytes),
        largest_keys=[k for *_, k in sorted(keys, key=lambda e: e[:3])[:top_keys]],
        largest_key_prefixes=prefixes,
        total_bytes=total_bytes,
        total_num=total_num,
        type_bytes=[TypeBytes(t, type_sums[t][1]) for t in types],
        type_num=[TypeNum(t, type_sums[t][0]) for t in types],
        db_stats=[DbStats(db, *dbs[db]) for db in sorted(dbs)],
        ttl_distribution=[TtlBucket(name, n, b) for name, (n, b) in ttl.items()],
        size_histograms=_histograms(shards, types),
        prefix_accuracy=accuracy,
        heaviest_slots=slots[:top_slots],
        heaviest_hash_tags=tags[:top_hash_tags],
        hash_tag_accuracy=HashTagAccuracy(tags_exact, tags_undercount),
        memory_model=_memory_model(shards),
    )
