"""Merging shards' offline reports: exact sums, and bounds where a shard's list was cut."""

from __future__ import annotations

from keyscope.analysis.cluster_report import ShardReport, merge_shard_reports
from keyscope.analysis.counting import KeyCounter, OfflineOptions
from keyscope.analysis.offline import report_of
from keyscope.analysis.slots import SlotTally, hash_tag, key_slot
from keyscope.domain.keys import KeyRecord
from tests.unit.analysis._records import rec


def _shard(name: str, records: list[KeyRecord], options: OfflineOptions) -> ShardReport:
    counter, tally = KeyCounter(options), SlotTally()
    counter.feed(tally.observe(records))
    return ShardReport(name, report_of(counter), tally.stats(20, 20), options.top_prefixes)


def test_a_prefix_a_full_shard_list_left_out_makes_the_merged_count_a_bound() -> None:
    options = OfflineOptions(top_prefixes=2, now_ms=0)
    # shard a lists "p1" and "p2" (3 keys each) and leaves "p3" (1 key) out
    a = [rec(f"p{n}:{i}", 10) for n, count in ((1, 3), (2, 3), (3, 1)) for i in range(count)]
    b = [rec(f"p3:{i}", 10) for i in range(5)]  # shard b: only "p3", listed
    merged = merge_shard_reports([_shard("a", a, options), _shard("b", b, options)],
                                 top_prefixes=2)  # fmt: skip
    counts = {p.key_prefix: p.num for p in merged.largest_key_prefixes}
    assert counts == {"p3": 5, "p1": 3}  # the true p3 count is 6: a left 1 out
    (accuracy,) = merged.prefix_accuracy
    assert (accuracy.exact, accuracy.max_undercount) == (False, 3)


def test_lists_that_were_not_full_merge_exactly() -> None:
    options = OfflineOptions(now_ms=0)
    a = [rec("user:1", 10), rec("user:2", 30), rec("order:1", 5)]
    b = [rec("user:3", 20), rec("{t}:x", 7, "hash"), rec("{t}:y", 9, "hash")]
    merged = merge_shard_reports([_shard("a", a, options), _shard("b", b, options)])
    assert [(k.key, k.shard) for k in merged.largest_keys][:3] == [
        ("user:2", "a"), ("user:3", "b"), ("user:1", "a")
    ]  # fmt: skip
    assert {(p.type, p.key_prefix): (p.num, p.bytes) for p in merged.largest_key_prefixes} == {
        ("string", "user"): (3, 60), ("string", "order"): (1, 5), ("hash", "{t}"): (2, 16)
    }  # fmt: skip
    assert all(a.exact for a in merged.prefix_accuracy)
    assert [(s.shard, s.num, s.bytes) for s in merged.shards] == [("a", 3, 45), ("b", 3, 36)]
    assert merged.skew.heaviest_shard == "a"
    (tag,) = merged.heaviest_hash_tags
    assert (tag.hash_tag, tag.num, tag.bytes, tag.shard, tag.slot) == ("t", 2, 16, "b",
                                                                        key_slot(b"t"))  # fmt: skip


def test_no_shard_is_an_empty_report() -> None:
    merged = merge_shard_reports([])
    assert (merged.total_num, merged.shards, merged.skew.heaviest_shard) == (0, [], None)


def test_hash_tags_follow_the_redis_rule() -> None:
    assert hash_tag(b"{user1000}.following") == b"user1000"
    assert hash_tag(b"foo{}{bar}") is None  # an empty first tag: the whole key is hashed
    assert hash_tag(b"foo{{bar}}zap") == b"{bar"
    assert hash_tag(b"foo{bar}{zap}") == b"bar"
    assert hash_tag(b"no-braces") is None
