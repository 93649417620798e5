"""How ``keyscope rdb diff`` prints a diff (``analysis/diff.py``): tables for people, CSV rows.

CSV cells that came from the keyspace are made inert for spreadsheets: a cell starting
with ``= + - @``, a tab or a carriage return is prefixed with ``'``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from rich.console import Console

PREFIX_LISTS = (
    "prefixes_grown_by_bytes",
    "prefixes_shrunk_by_bytes",
    "prefixes_grown_by_keys",
    "prefixes_shrunk_by_keys",
)
CSV_HEADER = ("section", "name", "type", "bytes_before", "bytes_after", "num_before", "num_after")


def sheet_safe(text: str) -> str:
    """``text`` as a spreadsheet will show it, never run it (``domain/csvcells`` rules)."""
    from keyscope.domain.csvcells import text_cell

    return text_cell(text)


def _cell(value: object) -> object:
    return "" if value is None else value


def write_csv(diff: dict[str, Any], out: TextIO) -> None:
    from keyscope.domain.csvcells import writer as csv_writer

    writer = csv_writer(out)
    writer.writerow(CSV_HEADER)
    t = diff["total"]
    writer.writerow(["total", "", "", t["bytes_before"], t["bytes_after"],
                     t["num_before"], t["num_after"]])  # fmt: skip
    for r in diff["types"]:
        writer.writerow(["type", "", r["type"], r["bytes_before"], r["bytes_after"],
                         r["num_before"], r["num_after"]])  # fmt: skip
    for section in PREFIX_LISTS:
        for r in diff[section]:
            writer.writerow(
                [section, sheet_safe(r["key_prefix"]), r["type"], _cell(r["bytes_before"]),
                 _cell(r["bytes_after"]), _cell(r["num_before"]), _cell(r["num_after"])]
            )  # fmt: skip
    for section in ("entered", "left", "grown"):
        for r in diff["largest_keys"][section]:
            writer.writerow(
                [f"largest_keys_{section}", sheet_safe(r["key"]), r["type"],
                 _cell(r["bytes_before"]), _cell(r["bytes_after"]),
                 _cell(r["num_of_elem_before"]), _cell(r["num_of_elem_after"])]
            )  # fmt: skip
    for r in diff["ttl_distribution"]:
        writer.writerow(["ttl", r["bucket"], "", r["bytes_before"], r["bytes_after"],
                         r["num_before"], r["num_after"]])  # fmt: skip
    keys = diff.get("keys")
    if keys is not None:
        writer.writerow(["keys_added", "", "", "", "", "", keys["added"]])
        writer.writerow(["keys_removed", "", "", "", "", keys["removed"], ""])


def _signed(value: int) -> str:
    return f"{value:+,}"


def _table(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> Any:
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, title_justify="left")
    for i, header in enumerate(headers):
        table.add_column(header, justify="left" if i < 2 else "right")
    for row in rows:
        # Text, not markup: keys are user data and may contain "[...]".
        cells = ("?" if v is None else f"{v:,}" if isinstance(v, int) else str(v) for v in row)
        table.add_row(*(Text(c) for c in cells))
    return table


def print_table(diff: dict[str, Any], out: Console) -> None:
    t = diff["total"]
    out.print(
        f"{t['num_before']:,} → {t['num_after']:,} keys ({_signed(t['num_change'])}), "
        f"{t['bytes_before']:,} → {t['bytes_after']:,} bytes ({_signed(t['bytes_change'])})"
    )
    keys = diff.get("keys")
    if keys is not None:
        how = "exact" if keys["exact"] else f"estimated from {keys['sketch_keys']:,} key hashes"
        out.print(f"{keys['added']:,} keys added, {keys['removed']:,} removed ({how})")
    out.print(_table("Types", ("type", "", "bytes before", "bytes after", "change",
                               "keys before", "keys after", "change"),
                     [(r["type"], "", r["bytes_before"], r["bytes_after"],
                       _signed(r["bytes_change"]), r["num_before"], r["num_after"],
                       _signed(r["num_change"])) for r in diff["types"]]))  # fmt: skip
    for section in PREFIX_LISTS:
        out.print(
            _table(
                section.replace("_", " ").capitalize(),
                ("prefix", "type", "bytes before", "bytes after", "keys before", "keys after"),
                [(r["key_prefix"], r["type"], r["bytes_before"], r["bytes_after"],
                  r["num_before"], r["num_after"]) for r in diff[section]],
            )
        )  # fmt: skip
    for section in ("entered", "left", "grown"):
        out.print(
            _table(
                f"Largest keys {section}",
                ("key", "type", "bytes before", "bytes after"),
                [(r["key"], r["type"], r["bytes_before"], r["bytes_after"])
                 for r in diff["largest_keys"][section]],
            )
        )  # fmt: skip
    out.print(_table("TTL", ("bucket", "", "keys before", "keys after", "change"),
                     [(r["bucket"], "", r["num_before"], r["num_after"], _signed(r["num_change"]))
                      for r in diff["ttl_distribution"]]))  # fmt: skip
    if not diff["prefixes_exact"]:
        out.print("prefix figures marked ? were not tracked on that side: approximate")
