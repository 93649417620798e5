"""``rdb diff``'s CSV: keyspace strings reach a spreadsheet inert."""

from __future__ import annotations

import csv
import io

from keyscope.analysis.diff import diff_offline
from keyscope.analysis.offline import OfflineOptions, analyze_records
from keyscope.cli.diff_output import sheet_safe, write_csv
from keyscope.domain.keys import KeyRecord


def test_cells_that_a_spreadsheet_would_run_are_prefixed() -> None:
    assert [sheet_safe(t) for t in ("=1+1", "+x", "-x", "@x", "\tx", "plain")] == [
        "'=1+1", "'+x", "'-x", "'@x", "'\tx", "plain",
    ]  # fmt: skip


def test_a_prefix_like_a_formula_is_written_inert() -> None:
    def report(n: int) -> dict[str, object]:
        records = [KeyRecord(0, f"=HYPERLINK(1):{i}".encode(), "string", "raw", None, 1, 1, 9)
                   for i in range(n)]  # fmt: skip
        return analyze_records(records, OfflineOptions(now_ms=0)).to_dict()

    out = io.StringIO()
    write_csv(diff_offline(report(1), report(3)), out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    names = {r["name"] for r in rows if r["section"] == "prefixes_grown_by_keys"}
    assert names == {"'=HYPERLINK(1)"}
