"""The LFU floor in accesses, and how per-node measurements become one ranked list."""

from __future__ import annotations

import random

from keyscope.analysis.hot_ranking import Share, highest_counters, hottest, ranked, shard_shares
from keyscope.analysis.lfu import LFU_INIT_VAL, expected_accesses, min_freq_for
from keyscope.domain.keys import HotKey
from keyscope.domain.topology import Node, NodeRole
from keyscope.redis.hotkeys_tracking import NodeTracking, parse_tracking


def _lfu_log_incr(counter: int, log_factor: int, rng: random.Random) -> int:
    """One access as Redis' LFULogIncr (evict.c) counts it."""
    if counter == 255:
        return 255
    base = max(counter - LFU_INIT_VAL, 0)
    return counter + 1 if rng.random() < 1.0 / (base * log_factor + 1) else counter


def test_the_accesses_a_counter_takes_follow_redis_increment_rule() -> None:
    rng = random.Random(7)
    for target in (8, 10, 14):
        trials = []
        for _ in range(300):
            counter, accesses = LFU_INIT_VAL, 0
            while counter < target:
                counter = _lfu_log_incr(counter, 10, rng)
                accesses += 1
            trials.append(accesses)
        mean = sum(trials) / len(trials)
        assert abs(mean - expected_accesses(target, 10)) < 0.12 * expected_accesses(target, 10)


def test_the_default_floor_is_counter_10_and_never_the_initial_value() -> None:
    assert [expected_accesses(c, 10) for c in (5, 6, 7, 10, 18)] == [0, 1, 12, 105, 793]
    assert min_freq_for(100, 10) == 10
    assert min_freq_for(1, 10) == LFU_INIT_VAL + 1
    assert min_freq_for(100, 0) == 105  # factor 0: every access counts
    assert min_freq_for(10**9, 10) == 255


def test_each_key_keeps_its_highest_counter_and_the_node_that_holds_it() -> None:
    shard_of = {"m:1": None, "r:2": None}
    tops = [(30, b"a", 0, "m:1"), (12, b"a", 0, "r:2"), (20, b"b", 0, "r:2"), (11, b"b", 3, "m:1")]

    best = highest_counters(tops, shard_of)

    assert best == {(None, 0, b"a"): (30, "m:1"), (None, 0, b"b"): (20, "r:2"),
                    (None, 3, b"b"): (11, "m:1")}  # fmt: skip
    assert hottest(best, 2) == [(None, 0, b"a"), (None, 0, b"b")]


def _node(address: str) -> Node:
    host, port = address.split(":")
    return Node(address, host, int(port), NodeRole.MASTER, "g", "group-0")


def test_shares_are_summed_over_the_nodes_of_a_shard() -> None:
    master = NodeTracking(_node("h:1"), {b"k": 300}, {b"k": 600, b"x": 100}, 1000, 1000, 5000)
    replica = NodeTracking(_node("h:2"), {b"k": 100}, {b"k": 1400}, 1000, 3000, 5000)

    shares = shard_shares([master, replica], {"h:1": None, "h:2": None})

    assert shares[(None, b"k")] == Share(cpu=0.2, net=0.5, node="h:2", net_bytes=2000)
    assert shares[(None, b"x")] == Share(cpu=0.0, net=0.025, node="h:1", net_bytes=100)
    assert shares[(None, b"k")].reaches(0.5) and not shares[(None, b"x")].reaches(0.03)


def test_keys_with_a_counter_rank_first_then_by_their_bytes_not_their_shards_share() -> None:
    def key(name: str, freq: int | None, net: float | None) -> HotKey:
        return HotKey(name, "string", 0, 1, "byte", freq, net_share=net, cpu_share=0.9)

    # n1 holds 90% of a quiet shard, n2 60% of a busy one: n2 moved more bytes
    keys = [(key("n1", None, 0.9), 2_000), (key("f9", 9, None), 0),
            (key("n2", None, 0.6), 90_000), (key("f30", 30, 0.01), 10)]  # fmt: skip

    assert [k.name for k in ranked(keys, 3)] == ["f30", "f9", "n2"]
    assert [k.name for k in ranked(keys, 4)][-1] == "n1"


def test_a_hotkeys_get_reply_is_read_as_the_server_writes_it() -> None:
    fields = {
        b"tracking-active": 0, b"sample-ratio": 1, b"selected-slots": [[0, 16383]],
        b"all-commands-all-slots-us": 141, b"net-bytes-all-commands-all-slots": 1441,
        b"collection-start-time-unix-ms": 1796159253168, b"collection-duration-ms": 361,
        b"total-cpu-time-user-ms": 0, b"total-cpu-time-sys-ms": 7, b"total-net-bytes": 1441,
        b"by-cpu-time-us": [b"a", 132, b"b", 9], b"by-net-bytes": [b"a", 1382, b"b", 59],
    }  # fmt: skip
    reply = [[part for pair in fields.items() for part in pair]]  # RESP2: a flat list in an array

    tracking = parse_tracking(_node("h:1"), reply)

    assert tracking is not None
    assert (tracking.cpu_us, tracking.net_bytes) == ({b"a": 132, b"b": 9}, {b"a": 1382, b"b": 59})
    assert (tracking.cpu_total_us, tracking.net_total_bytes, tracking.duration_ms) == (
        141, 1441, 361,
    )  # fmt: skip
    assert parse_tracking(_node("h:1"), None) is None
