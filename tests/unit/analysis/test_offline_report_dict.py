"""An offline report read back from its JSON form (as the API returns it) is the same report."""

from __future__ import annotations

import json
from pathlib import Path

from keyscope.analysis.offline import OfflineOptions, OfflineReport, analyze_rdb
from tests.utils.rdbgen import write_rdb


def test_a_report_survives_its_json_form_and_extra_fields_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "dump.rdb"
    write_rdb(path, keys=200, dbs=2)
    with path.open("rb") as source:
        report = analyze_rdb(source, OfflineOptions(top_keys=10, top_prefixes=3))
    api_task = {**json.loads(json.dumps(report.to_dict())), "id": "t", "status": "success"}

    again = OfflineReport.from_dict(api_task)

    assert again == report
    assert again.to_dict() == report.to_dict()
