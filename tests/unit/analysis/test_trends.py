"""The points of an instance's trend charts (``analysis/trends.py``)."""

from __future__ import annotations

from keyscope.analysis.trends import TOP_PREFIXES, trend_point


def test_an_offline_point_keeps_totals_per_type_and_its_largest_prefixes() -> None:
    result = {
        "total_bytes": 30, "total_num": 3,
        "type_bytes": [{"type": "string", "bytes": 30}], "type_num": [{"type": "string", "num": 3}],
        "largest_key_prefixes": [{"key_prefix": f"p{i}", "type": "string", "bytes": i, "num": 1}
                                 for i in range(10)],
    }  # fmt: skip
    point = trend_point("offline", result)
    assert point["type_bytes"] == {"string": 30} and point["type_num"] == {"string": 3}
    assert [p["key_prefix"] for p in point["top_prefixes"]] == [
        f"p{i}" for i in range(9, 9 - TOP_PREFIXES, -1)
    ]


def test_scan_points_count_keys_per_type_and_expire_points_the_reclaimed() -> None:
    keys = [{"name": "a", "type": "list"}, {"name": "b", "type": "list"}]
    assert trend_point("bigkey", {"keys": keys}) == {"num": 2, "type_num": {"list": 2}}
    assert trend_point("expire", {"expired_keys": 7, "scanned_keys": 9}) == {"expired_keys": 7}
