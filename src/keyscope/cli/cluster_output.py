"""The cluster-wide report (``keyscope rdb report FILE1 FILE2 ...``) as CSV and as tables."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TextIO

from keyscope.analysis.cluster_report import ClusterReport

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

TableFn = Callable[[str, tuple[str, ...], Sequence[tuple[object, ...]]], "Table"]

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str) -> str:
    """A keyspace string safe in a spreadsheet: one that would start a formula is quoted."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def csv_cluster_report(report: ClusterReport, out: TextIO) -> None:
    writer = csv.writer(out)
    writer.writerow(["section", "name", "type", "bytes", "num", "shard", "slot"])
    writer.writerow(["total", "", "", report.total_bytes, report.total_num, "", ""])
    for s in report.shards:
        writer.writerow(["shard", "", "", s.bytes, s.num, _cell(s.shard), ""])
    for tb, tn in zip(report.type_bytes, report.type_num, strict=True):
        writer.writerow(["type", "", tb.type, tb.bytes, tn.num, "", ""])
    for k in report.largest_keys:
        writer.writerow(["largest_key", _cell(k.key), k.type, k.bytes, k.num_of_elem,
                         _cell(k.shard), ""])  # fmt: skip
    for p in report.largest_key_prefixes:
        writer.writerow(["key_prefix", _cell(p.key_prefix), p.type, p.bytes, p.num, "", ""])
    for slot in report.heaviest_slots:
        writer.writerow(["slot", "", "", slot.bytes, slot.num, _cell(slot.shard), slot.slot])
    for tag in report.heaviest_hash_tags:
        writer.writerow(["hash_tag", _cell(tag.hash_tag), "", tag.bytes, tag.num,
                         _cell(tag.shard), tag.slot])  # fmt: skip
    for t in report.ttl_distribution:
        writer.writerow(["ttl", t.bucket, "", t.bytes, t.num, "", ""])
    for d in report.db_stats:
        writer.writerow(["db", d.db, "", d.bytes, d.num, "", ""])


def table_cluster_report(report: ClusterReport, out: Console, table: TableFn) -> None:
    from rich.text import Text

    skew = report.skew
    out.print(
        f"{report.total_num:,} keys, {report.total_bytes:,} bytes in {len(report.shards)} "
        f"shards; heaviest shard {skew.bytes_max_over_mean}x the mean bytes"
    )
    if report.memory_model is not None:
        model = report.memory_model
        out.print(Text(f"memory as {model.name} counts it ({model.source})"))
    out.print(table("Shards", ("shard", "share of bytes", "bytes", "keys"),
                    [(s.shard, f"{s.bytes_share:.1%}", s.bytes, s.num)
                     for s in report.shards]))  # fmt: skip
    types = [(t.type, "", t.bytes, n.num)
             for t, n in zip(report.type_bytes, report.type_num, strict=True)]  # fmt: skip
    out.print(table("Types", ("type", "", "bytes", "keys"), types))
    out.print(table("Largest keys", ("key", "shard", "type", "bytes", "elements"),
                    [(k.key, k.shard, k.type, k.bytes, k.num_of_elem)
                     for k in report.largest_keys]))  # fmt: skip
    out.print(table("Largest prefixes", ("prefix", "type", "bytes", "keys"),
                    [(p.key_prefix, p.type, p.bytes, p.num)
                     for p in report.largest_key_prefixes]))  # fmt: skip
    out.print(table("Heaviest slots", ("slot", "shard", "bytes", "keys"),
                    [(str(s.slot), s.shard, s.bytes, s.num)
                     for s in report.heaviest_slots]))  # fmt: skip
    out.print(table("Heaviest hash tags", ("tag", "shard", "slot", "bytes", "keys"),
                    [(t.hash_tag, t.shard, str(t.slot), t.bytes, t.num)
                     for t in report.heaviest_hash_tags]))  # fmt: skip
