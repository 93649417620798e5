"""Offline full-key analysis: one pass over the key records of an RDB, in bounded memory.

The report carries exactly the result fields of DCS ``ShowOfflineKeyAnalysisTask``
(``largest_keys``, ``largest_key_prefixes``, ``type_bytes``, ``type_num``, ``total_bytes``,
``total_num``) plus keyscope extensions the SDK ignores: ``db_stats``, ``ttl_distribution``,
``size_histograms``, how exact the prefix counts are and ``recommendations`` with their
estimated savings (``advice.py``). ``bytes`` is always the record's
``memory`` estimate. Memory use is O(top + prefix capacity), never O(keys).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

from keyscope.analysis.advice import Recommendation, recommend
from keyscope.analysis.counting import (
    DEFAULT_AGGREGATOR,
    KeyCounter,
    OfflineOptions,
    ProgressFn,
)
from keyscope.analysis.distributions import TTL_BUCKETS, size_bucket_labels
from keyscope.domain.keys import KeyRecord, display_key
from keyscope.domain.names import name_text

TYPE_ORDER = ("string", "list", "set", "zset", "hash", "stream", "array", "module")
"""Order of types in every per-type list of the report; only types present are listed."""

__all__ = [
    "OfflineOptions",
    "OfflineReport",
    "ProgressFn",
    "analyze_rdb",
    "analyze_records",
    "display_key",
    "report_of",
]


# The records of the report are NamedTuples: a dataclass costs about a millisecond to
# create at import, which every ``keyscope rdb report`` pays at start-up.


class LargestKey(NamedTuple):
    key: str
    key_base64: str | None
    """The exact bytes where ``key`` is escaped (``domain/names.py``); left out otherwise."""
    type: str
    bytes: int
    num_of_elem: int
    db: int


class KeyPrefix(NamedTuple):
    key_prefix: str
    key_prefix_base64: str | None
    type: str
    bytes: int
    num: int


class TypeBytes(NamedTuple):
    type: str
    bytes: int


class TypeNum(NamedTuple):
    type: str
    num: int


class DbStats(NamedTuple):
    db: int
    num: int
    bytes: int
    expires: int


class TtlBucket(NamedTuple):
    bucket: str
    num: int
    bytes: int


class SizeBucket(NamedTuple):
    range: str
    num: int
    bytes: int


class TypeSizeHistogram(NamedTuple):
    type: str
    buckets: list[SizeBucket]


class PrefixAccuracy(NamedTuple):
    """Per type: whether prefix counts are exact, else how much ``num`` may undercount."""

    type: str
    exact: bool
    max_undercount: int


class MemoryModelUsed(NamedTuple):
    """Which memory model the byte figures follow (``rdb/memory.py``), and why that one."""

    name: str
    source: str


class OfflineReport(NamedTuple):
    """The result of an offline analysis; ``to_dict`` is its JSON form."""

    largest_key_prefixes: list[KeyPrefix]
    largest_keys: list[LargestKey]
    total_bytes: int
    total_num: int
    type_bytes: list[TypeBytes]
    type_num: list[TypeNum]
    db_stats: list[DbStats]
    ttl_distribution: list[TtlBucket]
    size_histograms: list[TypeSizeHistogram]
    prefix_accuracy: list[PrefixAccuracy]
    memory_model: MemoryModelUsed | None = None
    recommendations: list[Recommendation] = []  # noqa: RUF012  (a NamedTuple default, never mutated)

    def to_dict(self) -> dict[str, Any]:
        """Every record as a dict of its fields, every list as a list."""
        return {name: _plain(value) for name, value in zip(self._fields, self, strict=True)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OfflineReport:
        """The report whose ``to_dict`` is ``data`` (other fields in ``data`` are ignored; a
        field it leaves out, as ``to_dict`` leaves out an unneeded base64 name, is None)."""

        def rows(name: str, record: Any) -> list[Any]:
            fields = record._fields
            return [record(*(row.get(f) for f in fields)) for row in data.get(name) or []]

        model = data.get("memory_model")
        return cls(
            largest_key_prefixes=rows("largest_key_prefixes", KeyPrefix),
            largest_keys=rows("largest_keys", LargestKey),
            total_bytes=int(data.get("total_bytes") or 0),
            total_num=int(data.get("total_num") or 0),
            type_bytes=rows("type_bytes", TypeBytes),
            type_num=rows("type_num", TypeNum),
            db_stats=rows("db_stats", DbStats),
            ttl_distribution=rows("ttl_distribution", TtlBucket),
            size_histograms=[
                TypeSizeHistogram(
                    h["type"], [SizeBucket(b["range"], b["num"], b["bytes"]) for b in h["buckets"]]
                )
                for h in data.get("size_histograms") or []
            ],
            prefix_accuracy=rows("prefix_accuracy", PrefixAccuracy),
            memory_model=MemoryModelUsed(model["name"], model["source"]) if model else None,
            recommendations=rows("recommendations", Recommendation),
        )


def _plain(value: object) -> Any:
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, tuple):  # a record of the report; a base64 name only where needed
        fields = zip(value._fields, value, strict=True)  # type: ignore[attr-defined]
        return {name: _plain(v) for name, v in fields if v is not None}
    return value


def _largest(rec: KeyRecord, mem: int) -> LargestKey:
    text, b64 = name_text(rec.key)
    return LargestKey(text, b64, rec.type, mem, rec.num_elements, rec.db)


def _prefix(raw: bytes, type_: str, size: int, num: int) -> KeyPrefix:
    text, b64 = name_text(raw)
    return KeyPrefix(text, b64, type_, size, num)


def report_of(counter: KeyCounter) -> OfflineReport:
    """The report of what a KeyCounter counted."""
    opts = counter.options
    present = [t for t in TYPE_ORDER if t in counter.types]
    present += sorted(t for t in counter.types if t not in TYPE_ORDER)
    stats = [(t, counter.types[t]) for t in present]
    labels = size_bucket_labels()
    return OfflineReport(
        largest_key_prefixes=[
            _prefix(p.prefix, t, p.bytes, p.num)
            for t, s in stats
            for p in s.prefixes.top(opts.top_prefixes)
        ],
        largest_keys=[_largest(r, mem) for mem, r in counter.top.items()],
        total_bytes=sum(s.bytes for _, s in stats),
        total_num=sum(s.num for _, s in stats),
        type_bytes=[TypeBytes(t, s.bytes) for t, s in stats],
        type_num=[TypeNum(t, s.num) for t, s in stats],
        db_stats=[DbStats(db, *counter.dbs[db]) for db in sorted(counter.dbs)],
        ttl_distribution=[
            TtlBucket(name, n, b)
            for name, n, b in zip(TTL_BUCKETS, counter.ttl_num, counter.ttl_bytes, strict=True)
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
        memory_model=(
            MemoryModelUsed(counter.memory_model.name, counter.memory_model.source)
            if counter.memory_model is not None
            else None
        ),
        recommendations=recommend(counter),
    )


def analyze_records(
    records: Iterable[KeyRecord], options: OfflineOptions | None = None
) -> OfflineReport:
    """The offline report of a stream of key records, in one pass; a reader's records bring
    the memory model they follow (``memory_model``), a bare iterable none."""
    counter = KeyCounter(options)
    counter.feed(records)
    from keyscope.rdb.memory import MemoryModel

    model = getattr(records, "memory_model", None)
    if isinstance(model, MemoryModel):
        counter.memory_model = model
    return report_of(counter)


def analyze_rdb(
    source: str | Path | BinaryIO,
    options: OfflineOptions | None = None,
    *,
    progress: ProgressFn | None = None,
    every: int = 8192,
) -> OfflineReport:
    """The offline report of an RDB file or stream; ``RdbFormatError`` if it is corrupt.

    The counting runs on ``DEFAULT_AGGREGATOR``: in C where the extension was built (no
    Python object per key), with the same report, byte for byte, as the pure rules.
    """
    return report_of(DEFAULT_AGGREGATOR.count(source, options, progress=progress, every=every))
