"""The cluster-wide report (``keyscope rdb report FILE1 FILE2 ...``) as CSV and as tables."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TextIO

from keyscope.analysis.cluster_report import ClusterReport
from keyscope.domain import csvcells

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

TableFn = Callable[[str, tuple[str, ...], Sequence[tuple[object, ...]]], "RenderableType"]


def csv_cluster_report(report: ClusterReport, out: TextIO) -> None:
    """Every section as rows, through keyscope's CSV cells (``domain/csvcells.py``)."""
    name, shard = csvcells.name_cells, csvcells.text_cell
    writer = csvcells.writer(out)
    writer.writerow(["section", "name", "name_base64", "type", "db", "bytes", "num", "shard",
                     "slot"])  # fmt: skip
    writer.writerow(["total", "", "", "", "", report.total_bytes, report.total_num, "", ""])
    for s in report.shards:
        writer.writerow(["shard", "", "", "", "", s.bytes, s.num, shard(s.shard), ""])
    for tb, tn in zip(report.type_bytes, report.type_num, strict=True):
        writer.writerow(["type", "", "", tb.type, "", tb.bytes, tn.num, "", ""])
    for k in report.largest_keys:
        writer.writerow(["largest_key", *name(k.key, k.key_base64), k.type, k.db, k.bytes,
                         k.num_of_elem, shard(k.shard), ""])  # fmt: skip
    for p in report.largest_key_prefixes:
        writer.writerow(["key_prefix", *name(p.key_prefix, p.key_prefix_base64), p.type, "",
                         p.bytes, p.num, "", ""])  # fmt: skip
    for slot in report.heaviest_slots:
        writer.writerow(["slot", "", "", "", "", slot.bytes, slot.num, shard(slot.shard),
                         slot.slot])  # fmt: skip
    for tag in report.heaviest_hash_tags:
        writer.writerow(["hash_tag", *name(tag.hash_tag, tag.hash_tag_base64), "", "", tag.bytes,
                         tag.num, shard(tag.shard), tag.slot])  # fmt: skip
    for t in report.ttl_distribution:
        writer.writerow(["ttl", t.bucket, "", "", "", t.bytes, t.num, "", ""])
    for d in report.db_stats:
        writer.writerow(["db", "", "", "", d.db, d.bytes, d.num, "", ""])


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
    out.print(table("Largest keys", ("key", "shard", "db", "type", "bytes", "elements"),
                    [(k.key, k.shard, k.db, k.type, k.bytes, k.num_of_elem)
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
