"""Prefixes: cut at the configured delimiters, top 50 per type by key count, bounded memory."""

from __future__ import annotations

import random

import pytest

from keyscope.analysis.offline import OfflineOptions, analyze_records
from keyscope.analysis.prefixes import PrefixCutter, PrefixSummary
from tests.unit.analysis._records import rec


def test_a_key_counts_under_each_of_its_proper_prefixes() -> None:
    assert PrefixCutter(":").cut(b"user:42:profile") == [b"user", b"user:42"]


def test_a_key_without_a_delimiter_has_no_prefix() -> None:
    assert PrefixCutter(":").cut(b"plain") == []


def test_any_of_several_delimiters_cuts_the_key() -> None:
    assert PrefixCutter(":|.").cut(b"a|b:c.d") == [b"a", b"a|b", b"a|b:c"]


def test_leading_delimiter_gives_no_empty_prefix() -> None:
    assert PrefixCutter(":").cut(b":a:b") == [b":a"]


def test_prefix_depth_is_capped() -> None:
    assert PrefixCutter(":", max_depth=2).cut(b"a:b:c:d:e") == [b"a", b"a:b"]


def test_an_empty_delimiter_set_is_refused() -> None:
    with pytest.raises(ValueError, match="delimiter"):
        PrefixCutter("")


def test_prefixes_are_ranked_per_type_by_key_count_with_their_bytes() -> None:
    records = [rec(f"acct:eu:{i}", 10) for i in range(5)]
    records += [rec(f"acct:us:{i}", 100) for i in range(3)]
    records += [rec(f"q:{i}", 1, "list") for i in range(2)]
    report = analyze_records(records)
    got = [(p.type, p.key_prefix, p.num, p.bytes) for p in report.largest_key_prefixes]
    assert got == [
        ("string", "acct", 8, 350),
        ("string", "acct:eu", 5, 50),
        ("string", "acct:us", 3, 300),
        ("list", "q", 2, 2),
    ]


def test_at_most_top_prefixes_are_reported_per_type() -> None:
    records = [rec(f"p{i}:x", 1, t) for i in range(80) for t in ("string", "set")]
    report = analyze_records(records)
    assert sum(p.type == "string" for p in report.largest_key_prefixes) == 50
    assert sum(p.type == "set" for p in report.largest_key_prefixes) == 50
    assert all(a.exact for a in report.prefix_accuracy)


def test_custom_delimiters_change_the_prefixes() -> None:
    report = analyze_records([rec("a/b/c", 1), rec("a/b/d", 1)], OfflineOptions(delimiters="/"))
    assert [p.key_prefix for p in report.largest_key_prefixes] == ["a", "a/b"]


def test_memory_stays_bounded_under_many_distinct_prefixes() -> None:
    summary = PrefixSummary(capacity=64)
    for i in range(50_000):
        summary.add([f"unique{i}".encode()], 1)
        assert len(summary) <= 2 * 64
    assert not summary.exact


def test_heavy_prefixes_survive_pruning_within_the_misra_gries_bound() -> None:
    rng = random.Random(7)
    capacity = 32
    summary = PrefixSummary(capacity)
    truth = {b"hot1": 0, b"hot2": 0}
    for i in range(40_000):
        roll = rng.random()
        prefix = b"hot1" if roll < 0.2 else b"hot2" if roll < 0.3 else f"cold{i}".encode()
        if prefix in truth:
            truth[prefix] += 1
        summary.add([prefix], 3)
    bound = summary.occurrences // (capacity + 1)
    assert summary.decremented <= bound
    top = {p.prefix: p for p in summary.top(2)}
    assert set(top) == {b"hot1", b"hot2"}
    for prefix, true_num in truth.items():
        assert true_num - bound <= top[prefix].num <= true_num


def test_report_says_when_prefix_counts_are_approximate() -> None:
    records = [rec(f"u{i}:x", 1) for i in range(300)]
    report = analyze_records(records, OfflineOptions(prefix_capacity=16))
    (accuracy,) = report.prefix_accuracy
    assert not accuracy.exact
    assert 0 < accuracy.max_undercount <= 300 // 17
