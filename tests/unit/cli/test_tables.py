"""Tables stay one line per row whatever the names hold, and say how many rows they left out."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table

from keyscope.cli import tables


def render(table: Table, width: int = 100) -> list[str]:
    out = io.StringIO()
    Console(file=out, width=width, color_system=None).print(table)
    return out.getvalue().splitlines()


def body(lines: list[str]) -> list[str]:
    """The data lines: between the header rule and the bottom border."""
    start = next(i for i, line in enumerate(lines) if line.startswith("┡"))
    end = next(i for i, line in enumerate(lines) if line.startswith("└"))
    return lines[start + 1 : end]


def test_a_name_with_a_newline_or_control_bytes_stays_on_one_line_escaped() -> None:
    rows = [("line\nbreak", 1), ("tab\there", 2), ("bell\x07\x1b[31mred", 3), ("[bold]x[/]", 4)]

    lines = body(render(tables.table("Keys", ("name", "size"), rows, right=("size",))))

    assert len(lines) == 4
    assert "line\\nbreak" in lines[0]
    assert "tab\\there" in lines[1]
    assert "bell\\x07\\x1b[31mred" in lines[2]
    assert "[bold]x[/]" in lines[3]  # shown as text, not taken as markup


def test_a_long_name_is_cut_in_the_cell_and_a_narrow_terminal_cuts_it_more() -> None:
    name = "user:" + "x" * 300
    rows = [(name, 5), ("a name with many words " * 4, 12_345)]

    wide = body(render(tables.table("Keys", ("name", "size"), rows, right=("size",)), 200))
    narrow = body(render(tables.table("Keys", ("name", "size"), rows, right=("size",)), 40))

    assert len(wide) == len(narrow) == 2
    assert "…" in wide[0] and "…" in narrow[0] and "…" in narrow[1]
    assert len(tables.cell_text(name)) == tables.MAX_CELL_CHARS
    assert narrow[0].endswith("      5 │")  # numbers are kept whole
    assert narrow[1].endswith(" 12,345 │")


def test_rows_past_the_limit_are_counted_under_the_table() -> None:
    rows = [(f"k{i}", i) for i in range(tables.MAX_TABLE_ROWS + 7)]

    lines = render(tables.table("Keys", ("name", "size"), rows, right=("size",)))

    assert len(body(lines)) == tables.MAX_TABLE_ROWS
    assert any("… 7 more (--format json or csv lists every one)" in line for line in lines)


def test_a_total_beyond_the_rows_given_is_counted_too() -> None:
    lines = render(tables.table("Keys", ("name",), [("a",), ("b",)], total=1_002))

    assert len(body(lines)) == 2
    assert any("… 1,000 more" in line for line in lines)


def test_numbers_get_thousands_separators_and_none_is_blank() -> None:
    assert tables.cell_text(1234567) == "1,234,567"
    assert tables.cell_text(None) == ""
    assert tables.cell_text(True) == "True"
    assert tables.cell_text("é日本") == "é日本"


def test_the_offline_report_has_no_empty_column() -> None:
    report = {
        "total_num": 3, "total_bytes": 300,
        "type_bytes": [{"type": "string", "bytes": 300}],
        "type_num": [{"type": "string", "num": 3}],
        "largest_keys": [{"key": "a\nb", "type": "string", "bytes": 100, "num_of_elem": 1}],
        "largest_key_prefixes": [], "ttl_distribution": [], "db_stats": [],
    }  # fmt: skip
    out = io.StringIO()

    tables.offline_report(report, Console(file=out, width=120, color_system=None))

    text = out.getvalue()
    headers = [line for line in text.splitlines() if line.startswith("┃")]
    assert headers
    for line in headers:
        assert all(cell.strip() for cell in line.strip("┃").split("┃")), line
    assert "a\\nb" in text
