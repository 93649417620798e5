"""The diff of two offline reports and of two scans (``analysis/diff.py``)."""

from __future__ import annotations

from typing import Any

from keyscope.analysis.diff import diff_offline, diff_scans
from keyscope.analysis.offline import OfflineOptions, analyze_records
from keyscope.domain.keys import KeyRecord


def _report(keys: dict[str, int], **options: Any) -> dict[str, Any]:
    records = [KeyRecord(0, k.encode(), "string", "raw", None, 1, 1, mem)
               for k, mem in keys.items()]  # fmt: skip
    return analyze_records(records, OfflineOptions(now_ms=0, **options)).to_dict()


def test_a_prefix_missing_from_a_complete_side_had_no_key_there() -> None:
    old = _report({"a:1": 100, "a:2": 100})
    new = _report({"a:1": 100, "b:1": 300})
    diff = diff_offline(old, new, listed_limit=50)
    grown = {r["key_prefix"]: r for r in diff["prefixes_grown_by_bytes"]}
    assert grown["b"] == {"key_prefix": "b", "type": "string", "bytes_before": 0,
                          "bytes_after": 300, "num_before": 0, "num_after": 1,
                          "approximate": False}  # fmt: skip
    shrunk = diff["prefixes_shrunk_by_keys"]
    assert [(r["key_prefix"], r["num_before"], r["num_after"]) for r in shrunk] == [("a", 2, 1)]
    assert diff["prefixes_exact"] is True


def test_a_prefix_missing_from_a_truncated_list_is_unknown_and_marked_approximate() -> None:
    old = _report({"a:1": 100, "a:2": 100, "c:1": 5}, top_prefixes=1)
    new = _report({"c:1": 5, "c:2": 5, "a:1": 100, "a:2": 100, "a:3": 1}, top_prefixes=1)
    diff = diff_offline(old, new, listed_limit=1)
    assert diff["prefixes_exact"] is False
    (row,) = diff["prefixes_grown_by_keys"]
    assert (row["key_prefix"], row["num_before"], row["num_after"]) == ("a", 2, 3)
    assert row["approximate"] is True


def test_scans_diff_by_db_and_name() -> None:
    old = {
        "keys": [
            {"name": "x", "type": "list", "db": 0, "size": 10, "unit": "count"},
            {"name": "x", "type": "list", "db": 1, "size": 7, "unit": "count"},
        ]
    }
    new = {"keys": [{"name": "x", "type": "list", "db": 0, "size": 25, "unit": "count"}]}
    diff = diff_scans(old, new, kind="bigkey")
    assert diff["entered"] == []
    assert [(r["name"], r["db"]) for r in diff["left"]] == [("x", 1)]
    assert [(r["size_before"], r["size_after"]) for r in diff["grown"]] == [(10, 25)]
    assert diff["types"] == [{"type": "list", "num_before": 2, "num_after": 1, "num_change": -1}]


def test_hot_keys_diff_by_their_lfu_counter() -> None:
    old = {"keys": [{"name": "a", "type": "string", "db": 0, "size": 1, "unit": "byte",
                     "freq": 20}]}  # fmt: skip
    new = {"keys": [{"name": "a", "type": "string", "db": 0, "size": 1, "unit": "byte",
                     "freq": 90},
                    {"name": "b", "type": "hash", "db": 0, "size": 3, "unit": "count",
                     "freq": 40}]}  # fmt: skip
    diff = diff_scans(old, new, kind="hotkey")
    assert [(r["name"], r["freq_before"], r["freq_after"]) for r in diff["grown"]] == [
        ("a", 20, 90)
    ]
    assert [r["name"] for r in diff["entered"]] == ["b"] and "unit" not in diff["entered"][0]
