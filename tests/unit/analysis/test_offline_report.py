"""The offline report: DCS field names, top keys, per-type totals and the extensions."""

from __future__ import annotations

import json

from keyscope.analysis.distributions import DAY_MS, HOUR_MS
from keyscope.analysis.offline import OfflineOptions, analyze_records
from tests.unit.analysis._records import rec

NOW = 1_700_000_000_000


def test_report_json_has_exactly_the_dcs_fields_plus_the_named_extensions() -> None:
    report = analyze_records([rec("a:1", 10), rec("b", 5, "hash", elements=2)])
    data = json.loads(json.dumps(report.to_dict()))
    dcs = {"largest_key_prefixes", "largest_keys", "total_bytes", "total_num", "type_bytes",
           "type_num"}  # fmt: skip
    extensions = {"db_stats", "ttl_distribution", "size_histograms", "prefix_accuracy",
                  "memory_model", "recommendations"}  # fmt: skip
    assert set(data) == dcs | extensions
    assert set(data["largest_keys"][0]) == {"key", "type", "bytes", "num_of_elem", "db"}
    assert set(data["largest_key_prefixes"][0]) == {"key_prefix", "type", "bytes", "num"}
    assert data["type_bytes"] == [{"type": "string", "bytes": 10}, {"type": "hash", "bytes": 5}]
    assert data["type_num"] == [{"type": "string", "num": 1}, {"type": "hash", "num": 1}]


def test_totals_count_every_key_and_its_memory() -> None:
    records = [rec(f"k{i}", i, "list") for i in range(1, 101)] + [rec("s", 7)]
    report = analyze_records(records)
    assert report.total_num == 101
    assert report.total_bytes == sum(range(1, 101)) + 7


def test_largest_keys_are_the_top_n_by_bytes_largest_first() -> None:
    records = [rec(f"k{i}", (i * 7919) % 1000, "set", elements=i) for i in range(1000)]
    report = analyze_records(records, OfflineOptions(top_keys=10))
    expected = sorted(((r.memory, r.key.decode()) for r in records), reverse=True)[:10]
    assert [k.bytes for k in report.largest_keys] == [m for m, _ in expected]
    assert report.largest_keys[0].type == "set"


def test_largest_keys_default_to_one_hundred_and_ties_keep_the_first_seen() -> None:
    records = [rec(f"k{i:03}", 1) for i in range(300)]
    report = analyze_records(records)
    assert len(report.largest_keys) == 100
    assert [k.key for k in report.largest_keys] == [f"k{i:03}" for i in range(100)]


def test_num_of_elem_is_the_records_element_count() -> None:
    report = analyze_records([rec("z", 500, "zset", elements=42), rec("s", 9, elements=9)])
    assert [(k.key, k.num_of_elem) for k in report.largest_keys] == [("z", 42), ("s", 9)]


def test_binary_keys_are_shown_with_backslash_escapes() -> None:
    report = analyze_records([rec(b"bin\xff:x", 3)])
    assert report.largest_keys[0].key == "bin\\xff:x"
    assert report.largest_key_prefixes[0].key_prefix == "bin\\xff"


def test_ttl_distribution_buckets_keys_by_time_left() -> None:
    records = [
        rec("none", 1),
        rec("gone", 2, expiry_ms=NOW - 1),
        rec("minutes", 3, expiry_ms=NOW + 10 * 60_000),
        rec("hours", 4, expiry_ms=NOW + 5 * HOUR_MS),
        rec("days", 5, expiry_ms=NOW + 3 * DAY_MS),
        rec("weeks", 6, expiry_ms=NOW + 30 * DAY_MS),
        rec("weeks2", 7, expiry_ms=NOW + 7 * DAY_MS),
    ]
    report = analyze_records(records, OfflineOptions(now_ms=NOW))
    got = {b.bucket: (b.num, b.bytes) for b in report.ttl_distribution}
    assert got == {
        "no_expiry": (1, 1),
        "expired": (1, 2),
        "lt_1h": (1, 3),
        "lt_1d": (1, 4),
        "lt_7d": (1, 5),
        "ge_7d": (2, 13),
    }


def test_db_stats_count_keys_bytes_and_expires_per_database() -> None:
    records = [rec("a", 1, db=0), rec("b", 2, db=3, expiry_ms=NOW), rec("c", 4, db=3)]
    report = analyze_records(records, OfflineOptions(now_ms=NOW))
    assert [(d.db, d.num, d.bytes, d.expires) for d in report.db_stats] == [
        (0, 1, 1, 0),
        (3, 2, 6, 1),
    ]


def test_size_histograms_put_each_key_in_its_bucket_per_type() -> None:
    records = [rec("a", 10), rec("b", 63), rec("c", 64), rec("d", 1 << 30), rec("h", 100, "hash")]
    report = analyze_records(records)
    by_type = {h.type: {b.range: (b.num, b.bytes) for b in h.buckets if b.num}
               for h in report.size_histograms}  # fmt: skip
    assert by_type == {
        "string": {"<64": (2, 73), "<256": (1, 64), ">=16777216": (1, 1 << 30)},
        "hash": {"<256": (1, 100)},
    }


def test_empty_input_gives_an_empty_report() -> None:
    report = analyze_records([])
    assert report.total_num == 0
    assert report.largest_keys == []
    assert report.type_bytes == []
    assert sum(b.num for b in report.ttl_distribution) == 0
