"""The pure selection rules of the online analyses (DCS big-key rules, hot-key top-N)."""

from __future__ import annotations

from keyscope.analysis.selection import (
    BigKeySelector,
    HotKeySelector,
    is_big,
    key_name,
)
from keyscope.domain.scan import BigKeyThresholds

DCS = BigKeyThresholds()


def test_string_is_big_only_over_10_kb() -> None:
    assert not is_big("string", 10 * 1024, None, DCS)
    assert is_big("string", 10 * 1024 + 1, None, DCS)


def test_collection_is_big_over_5000_elements() -> None:
    for kind in ("list", "set", "zset", "hash", "stream"):
        assert not is_big(kind, 5000, None, DCS)
        assert is_big(kind, 5001, None, DCS)


def test_collection_is_big_when_its_memory_exceeds_50_mb() -> None:
    assert is_big("hash", 10, 50 * 1024 * 1024 + 1, DCS)
    assert not is_big("hash", 10, 50 * 1024 * 1024, DCS)
    assert not is_big("string", 10, 10**9, DCS)  # strings go by their length


def test_selector_keeps_20_strings_and_20_of_each_collection_largest_first() -> None:
    selector = BigKeySelector()
    records = [(f"s{i}".encode(), "string", 20_000 + i, None, 0, None) for i in range(50)]
    records += [(f"h{i}".encode(), "hash", 6000 + i, 100, 1, "10.0.0.1:6379") for i in range(30)]
    records += [(b"l", "list", 7000, None, 0, None), (b"tiny", "list", 3, None, 0, None)]
    selector.add(records)

    found = selector.result()

    assert [k.size for k in found if k.type == "string"] == [20_000 + i for i in range(49, 29, -1)]
    assert [k.size for k in found if k.type == "hash"] == [6000 + i for i in range(29, 9, -1)]
    assert [(k.name, k.unit) for k in found if k.type == "list"] == [("l", "count")]
    assert [k.type for k in found][:1] == ["string"]
    assert {k.shard for k in found if k.type == "hash"} == {"10.0.0.1:6379"}
    assert selector.seen == 82


def test_selector_caps_the_report_at_max_records() -> None:
    selector = BigKeySelector(BigKeyThresholds(max_records=5))
    selector.add([(f"s{i}".encode(), "string", 20_000 + i, None, 0, None) for i in range(10)])
    selector.add([(b"z", "zset", 9000, None, 0, None)])

    assert [k.name for k in selector.result()] == ["s9", "s8", "s7", "s6", "s5"]


def test_hot_selector_keeps_the_highest_counters_above_the_minimum() -> None:
    selector = HotKeySelector(max_records=3, min_freq=2)
    selector.add([(f"k{i}".encode(), i % 10, 0, None) for i in range(100)])
    selector.add([(b"top", 255, 2, None), (b"low", 1, 0, None)])

    top = selector.top()

    assert [(f, n) for f, n, _, _ in top] == [(255, b"top"), (9, b"k9"), (9, b"k99")]


def test_binary_key_names_are_escaped_not_lost() -> None:
    assert key_name(b"user:\xff\x00") == "user:\\xff\\x00"
    assert key_name("ключ".encode()) == "ключ"


def test_hot_selector_floor_rises_once_the_top_is_full() -> None:
    selector = HotKeySelector(max_records=2, min_freq=1)
    assert selector.floor == 1
    selector.add([(b"a", 7, 0, None)])
    assert selector.floor == 1
    selector.add([(b"b", 9, 0, None), (b"c", 8, 0, None)])
    assert selector.floor == 8
