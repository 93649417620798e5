"""The online analyses on every engine of the matrix: the same right answers everywhere.

Big keys, hot keys and the expired-key scan run through their public engine functions
against a standalone server of every engine, a master with a replica of every engine, and
a 3-shard cluster of a Redis 8 and of Valkey engines; the answers are checked against what
the servers themselves report. Where the server has ``CLIENT NO-TOUCH`` (Redis 7.2+,
Valkey) a big-key scan leaves every key's LFU counter as it was, so it never makes keys look
hot to the hot-key analysis.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from keyscope.analysis.bigkeys import find_bigkeys
from keyscope.analysis.expire import scan_expired
from keyscope.analysis.hotkeys import find_hotkeys
from keyscope.domain.keys import BigKey
from keyscope.domain.scan import ScanOptions
from keyscope.domain.topology import InstanceMode
from keyscope.redis.auth import NO_AUTH
from keyscope.redis.topology import discover
from tests.utils.engines import (
    ALL_ENGINES,
    CLUSTER_ENGINES,
    engine_cluster,
    engine_of,
    engine_replica,
    engine_server,
)
from tests.utils.servers import Cluster, RedisServer

pytestmark = pytest.mark.integration

FAST = ScanOptions(max_ops_per_sec=None, scan_count=200, hotkey_max_records=5, hotkeys_window_s=1)
LFU = ["--maxmemory-policy", "allkeys-lfu"]
BIG = {
    "big:str": ("string", 12_288),
    "big:list": ("list", 6000),
    "big:hash": ("hash", 5100),
    "big:set": ("set", 5200),
    "big:zset": ("zset", 5300),
}
"""The keys past the DCS thresholds (10 KB strings, 5000 elements), and their sizes."""
HOT_READS = {"hot:a": 4000, "hot:b": 1500, "hot:c": 600}
"""Reads that make three keys hot, well past the floor of 100 accesses."""


def _write(client: redis.Redis | redis.RedisCluster) -> None:
    """The big keys, 300 small ones, and reads that make three keys hot."""
    client.set("big:str", "x" * BIG["big:str"][1])
    client.rpush("big:list", *range(BIG["big:list"][1]))
    client.hset("big:hash", mapping={f"f{i}": i for i in range(BIG["big:hash"][1])})
    client.sadd("big:set", *range(BIG["big:set"][1]))
    client.zadd("big:zset", {f"m{i}": i for i in range(BIG["big:zset"][1])})
    pipe = client.pipeline(transaction=False)
    for i in range(300):
        pipe.set(f"small:{i}", "v" * (i % 50))
    pipe.execute()
    for key in HOT_READS:
        client.set(key, "h")
    for key, reads in HOT_READS.items():
        for _ in range(reads // 100):
            pipe = client.pipeline(transaction=False)
            for _ in range(100):
                pipe.get(key)
            pipe.execute()


GONE, KEPT = 360, 90
"""Keys the expired-key scan must reclaim (20 ms TTLs, never read) and keys it must keep."""


def _write_expiring(client: redis.Redis | redis.RedisCluster, masters: list[RedisServer]) -> None:
    for master in masters:  # only a scan may reclaim them
        with master.client() as c:
            c.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    pipe = client.pipeline(transaction=False)
    for i in range(GONE):
        pipe.set(f"gone:{i}", "v", px=20)
    for i in range(KEPT):
        pipe.set(f"kept:{i}", "v", px=600_000)
    pipe.execute()


def _freqs(servers: list[RedisServer]) -> dict[bytes, int]:
    """OBJECT FREQ of every key (reading it touches nothing)."""
    freqs: dict[bytes, int] = {}
    for server in servers:
        with server.client() as c:
            keys = list(c.scan_iter(count=1000))
            pipe = c.pipeline(transaction=False)
            for key in keys:
                pipe.object("freq", key)
            freqs.update(zip(keys, (int(f) for f in pipe.execute()), strict=True))
    return freqs


def _assert_big_keys(found: list[BigKey], servers: list[RedisServer]) -> None:
    assert {k.name: (k.type, k.size) for k in found} == BIG
    assert all(k.unit == ("byte" if k.type == "string" else "count") for k in found)
    for key in found:
        holders = [s for s in servers if _holds(s, key.name)]
        assert holders, key.name
        if key.shard is not None:
            assert key.shard in {s.address for s in holders}


def _holds(server: RedisServer, key: str) -> bool:
    try:
        return bool(server.client().exists(key))
    except redis.exceptions.MovedError:  # a cluster node answers for its own slots only
        return False


def _assert_hot_keys(servers: list[RedisServer], topology_args: tuple[InstanceMode, str]) -> None:
    truth = _freqs(servers)
    topology = discover(topology_args[0], [topology_args[1]], NO_AUTH)
    found = find_hotkeys(topology, NO_AUTH, FAST).keys
    names = [k.name for k in found]
    # The three read keys come first; among them the order is the servers' own counters,
    # which are probabilistic (a key read 1500 times can count lower than one read 600 times).
    assert set(names[:3]) == set(HOT_READS)
    for key in found:
        assert key.freq == truth[key.name.encode()], key.name
    assert [k.freq for k in found] == sorted((k.freq for k in found), reverse=True)


def _assert_expire_scan(
    client: redis.Redis | redis.RedisCluster,
    masters: list[RedisServer],
    topology_args: tuple[InstanceMode, str],
) -> None:
    _write_expiring(client, masters)
    time.sleep(0.1)
    held = sum(m.client().dbsize() for m in masters)
    topology = discover(topology_args[0], [topology_args[1]], NO_AUTH)
    result = scan_expired(topology, NO_AUTH, FAST)
    assert result.expired_keys == GONE
    assert result.scanned_keys >= held - GONE
    assert sum(m.client().dbsize() for m in masters) == held - GONE


@pytest.fixture
def lfu_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RedisServer]:
    with engine_server(request.param, tmp_path, extra=LFU) as server:
        yield server


@pytest.mark.parametrize("lfu_server", ALL_ENGINES, indirect=True)
def test_the_three_analyses_answer_right_on_a_standalone_server(lfu_server: RedisServer) -> None:
    _write(lfu_server.client())
    topology = discover(InstanceMode.SINGLE, [lfu_server.address], NO_AUTH)
    _assert_big_keys(find_bigkeys(topology, NO_AUTH, FAST), [lfu_server])
    _assert_hot_keys([lfu_server], (InstanceMode.SINGLE, lfu_server.address))
    _assert_expire_scan(
        lfu_server.client(), [lfu_server], (InstanceMode.SINGLE, lfu_server.address)
    )


@pytest.mark.parametrize("lfu_server", ALL_ENGINES, indirect=True)
def test_a_big_key_scan_leaves_lfu_counters_alone_where_the_server_has_no_touch(
    lfu_server: RedisServer,
) -> None:
    _write(lfu_server.client())
    before = _freqs([lfu_server])
    topology = discover(InstanceMode.SINGLE, [lfu_server.address], NO_AUTH)
    find_bigkeys(topology, NO_AUTH, FAST)
    after = _freqs([lfu_server])
    if engine_of(lfu_server).no_touch:
        assert after == before
    else:  # Redis 6.2 and 7.0 have no NO-TOUCH: the probes touch (a counter of 5 always grows)
        assert any(after[k] > v for k, v in before.items())


@pytest.fixture
def lfu_pair(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[RedisServer, RedisServer]]:
    with engine_replica(request.param, tmp_path, extra=LFU) as pair:
        yield pair


@pytest.mark.parametrize("lfu_pair", ALL_ENGINES, indirect=True)
def test_big_keys_and_expired_keys_answer_right_on_a_master_with_a_replica(
    lfu_pair: tuple[RedisServer, RedisServer],
) -> None:
    master, replica = lfu_pair
    _write(master.client())
    master.client().wait(1, 10_000)
    topology = discover(InstanceMode.HA, [master.address], NO_AUTH)
    assert {n.address for n in topology.nodes} == {master.address, replica.address}
    _assert_big_keys(find_bigkeys(topology, NO_AUTH, FAST), [replica])
    _assert_expire_scan(master.client(), [master], (InstanceMode.HA, master.address))


@pytest.fixture(scope="module", params=CLUSTER_ENGINES)
def lfu_cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    with engine_cluster(request.param, tmp_path_factory.mktemp("cluster"), extra=LFU) as cluster:
        yield cluster


def test_the_three_analyses_cover_every_shard_of_a_cluster(lfu_cluster: Cluster) -> None:
    client = lfu_cluster.client()
    _write(client)
    masters = lfu_cluster.masters
    assert all(m.client().dbsize() > 0 for m in masters)
    seed = masters[0].address
    topology = discover(InstanceMode.CLUSTER, [seed], NO_AUTH)
    found = find_bigkeys(topology, NO_AUTH, FAST)
    _assert_big_keys(found, masters)
    assert all(k.shard is not None for k in found)
    _assert_hot_keys(masters, (InstanceMode.CLUSTER, seed))
    _assert_expire_scan(client, masters, (InstanceMode.CLUSTER, seed))
    client.close()
