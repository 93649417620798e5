"""The rich tables every command draws: one row per key, whatever the key's name.

Key names are user data: in a table (only there: JSON and CSV carry them whole) a control
character is shown as its escape (``\\n``, ``\\x1b``) so a row never splits or recolours the
terminal, and a name longer than ``MAX_CELL_CHARS`` is cut with ``…``. A table shows at most
``MAX_TABLE_ROWS`` rows and says how many more there are (``--format json`` or ``csv`` gives
every one). Cells are ``Text``, never markup: a key may contain ``[...]``. rich is imported
when a table is drawn, not before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

MAX_CELL_CHARS = 80
"""The longest text a table cell shows; the rest is cut, with ``…``."""

MAX_TABLE_ROWS = 50
"""Rows a table shows; a line under it tells how many more there are."""

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def cell_text(value: object) -> str:
    """``value`` as one line of at most MAX_CELL_CHARS characters: numbers with thousands
    separators, control characters escaped, long text cut with ``…``."""
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    text = str(value)
    if not text.isprintable():
        text = "".join(
            ch if ch.isprintable() else _ESCAPES.get(ch) or f"\\x{ord(ch):02x}"
            if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"
            for ch in text
        )  # fmt: skip
    if len(text) > MAX_CELL_CHARS:
        text = text[: MAX_CELL_CHARS - 1] + "…"
    return text


def table(
    title: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    right: Sequence[str] = (),
    caption: str | None = None,
    total: int | None = None,
    max_rows: int = MAX_TABLE_ROWS,
) -> RenderableType:
    """A table of the first ``max_rows`` rows, with ``caption`` and the count of the rows left
    out under it (as wide as the terminal, not the table); ``right`` names the right-aligned
    (numeric, never cut) columns and ``total`` the number of rows there are (default
    ``len(rows)``)."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    total = len(rows) if total is None else total
    shown_rows = [[cell_text(v) for v in row] for row in rows[:max_rows]]
    more = total - len(shown_rows)
    shown = Table(title=title, title_justify="left")
    for i, header in enumerate(headers):  # text is cut to fit, never wrapped: one line per row
        if header in right:
            widest = max([len(header), *(len(r[i]) for r in shown_rows if i < len(r))])
            shown.add_column(header, justify="right", no_wrap=True, min_width=widest)
        else:
            shown.add_column(header, overflow="ellipsis")
    for row in shown_rows:
        shown.add_row(*(Text(v, no_wrap=True, overflow="ellipsis") for v in row))
    notes = [caption] if caption else []
    if more > 0:
        notes.append(f"… {more:,} more (--format json or csv lists every one)")
    if not notes:
        return shown
    return Group(shown, *(Text(note) for note in notes))


def offline_report(report: Mapping[str, Any], out: Console) -> None:
    """The tables of an offline report, given as its JSON form (``OfflineReport.to_dict()``
    or the API's task detail, which holds the same fields)."""
    from rich.text import Text

    out.print(f"{report.get('total_num') or 0:,} keys, {report.get('total_bytes') or 0:,} bytes")
    model = report.get("memory_model")
    if model:
        out.print(Text(f"memory as {model['name']} counts it ({model['source']})"))
    counts = {t["type"]: t["num"] for t in report.get("type_num") or []}
    by_type = report.get("type_bytes") or []
    types = [(t["type"], t["bytes"], counts.get(t["type"], 0)) for t in by_type]
    out.print(table("Types", ("type", "bytes", "keys"), types, right=("bytes", "keys")))
    sized = ("bytes", "elements", "keys")
    keys = report.get("largest_keys") or []
    out.print(table("Largest keys", ("key", "type", "db", "bytes", "elements"),
                    [(k["key"], k["type"], k.get("db"), k["bytes"], k["num_of_elem"])
                     for k in keys], right=("db", *sized)))  # fmt: skip
    prefixes = report.get("largest_key_prefixes") or []
    out.print(table("Largest prefixes", ("prefix", "type", "bytes", "keys"),
                    [(p["key_prefix"], p["type"], p["bytes"], p["num"]) for p in prefixes],
                    right=sized))  # fmt: skip
    ttl = report.get("ttl_distribution") or []
    out.print(table("TTL", ("bucket", "bytes", "keys"),
                    [(t["bucket"], t["bytes"], t["num"]) for t in ttl], right=sized))  # fmt: skip
    dbs = report.get("db_stats") or []
    rows = [(d["db"], d["bytes"], d["num"]) for d in dbs]
    out.print(table("Databases", ("db", "bytes", "keys"), rows, right=("db", *sized)))
    advice = report.get("recommendations") or []
    if advice:
        headers = ("recommendation", "examples", "saves bytes", "keys")
        saving = [(r["title"], ", ".join(r.get("example_keys") or []), r["bytes_saved"],
                   r["keys_affected"]) for r in advice]  # fmt: skip
        title = "Recommendations (savings estimated with the memory model)"
        out.print(table(title, headers, saving, right=headers[2:]))
