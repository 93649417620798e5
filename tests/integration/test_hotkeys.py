"""Hot-key analysis against live servers: LFU counters, types and sizes, and DCS.4922 refusals."""

from __future__ import annotations

import pytest

from keyscope.analysis.hotkeys import ensure_hotkeys_supported, find_hotkeys
from keyscope.domain.errors import Unsupported
from keyscope.domain.scan import ScanOptions
from keyscope.domain.topology import InstanceMode, Topology
from keyscope.redis.auth import NO_AUTH
from keyscope.redis.topology import discover
from tests.utils.servers import Cluster, RedisServer

pytestmark = pytest.mark.integration

FAST = ScanOptions(max_ops_per_sec=None, scan_count=100, hotkey_max_records=3)


def test_keys_read_many_times_come_first_with_their_lfu_counter(
    redis_lfu_server: RedisServer,
) -> None:
    with redis_lfu_server.client() as c:
        c.set("hot:string", "x" * 123)
        c.hset("hot:hash", mapping={f"f{i}": i for i in range(18)})
        c.rpush("warm:list", *range(7))
        for i in range(300):
            c.set(f"cold:{i}", "v")
        pipe = c.pipeline(transaction=False)
        for _ in range(3000):
            pipe.get("hot:string")
            pipe.hget("hot:hash", "f1")
        for _ in range(300):
            pipe.lindex("warm:list", 0)
        pipe.execute()
        freq = {k: int(c.object("freq", k)) for k in ("hot:string", "hot:hash", "warm:list")}
    assert freq["hot:string"] > freq["warm:list"] > 5
    topology = discover(InstanceMode.SINGLE, [redis_lfu_server.address], NO_AUTH)

    found = find_hotkeys(topology, NO_AUTH, FAST)

    by_name = {k.name: k for k in found}
    assert set(by_name) == {"hot:string", "hot:hash", "warm:list"}
    assert [k.freq for k in found] == sorted((k.freq for k in found), reverse=True)
    assert {n: k.freq for n, k in by_name.items()} == freq
    assert (by_name["hot:string"].type, by_name["hot:string"].size) == ("string", 123)
    assert (by_name["hot:string"].unit, by_name["hot:hash"].unit) == ("byte", "count")
    assert (by_name["hot:hash"].type, by_name["hot:hash"].size) == ("hash", 18)
    assert (by_name["warm:list"].type, by_name["warm:list"].size) == ("list", 7)


def test_server_without_lfu_policy_is_refused_naming_the_policy(
    redis_server: RedisServer,
) -> None:
    topology = discover(InstanceMode.SINGLE, [redis_server.address], NO_AUTH)

    for check in (
        lambda: ensure_hotkeys_supported(topology, NO_AUTH),
        lambda: find_hotkeys(topology, NO_AUTH, FAST),
    ):
        with pytest.raises(Unsupported) as caught:
            check()
        assert caught.value.code == "DCS.4922"
        assert caught.value.http_status == 400
        assert "noeviction" in caught.value.message
        assert redis_server.address in caught.value.message


def test_volatile_lfu_is_accepted(redis_server: RedisServer) -> None:
    with redis_server.client() as c:
        c.config_set("maxmemory-policy", "volatile-lfu")
    topology = discover(InstanceMode.SINGLE, [redis_server.address], NO_AUTH)

    ensure_hotkeys_supported(topology, NO_AUTH)


def test_redis_3_0_is_refused_naming_the_version() -> None:
    old = Topology(InstanceMode.SINGLE, "redis", "3.0.7")
    with pytest.raises(Unsupported) as caught:
        ensure_hotkeys_supported(old, None)
    assert caught.value.code == "DCS.4922"
    assert "3.0.7" in caught.value.message


def test_cluster_hot_keys_carry_the_shard_that_holds_them(redis_cluster: Cluster) -> None:
    for server in redis_cluster.masters:
        with server.client() as c:
            c.config_set("maxmemory-policy", "allkeys-lfu")
    names = [f"hot:{i}" for i in range(3)]
    with redis_cluster.client() as rc:
        rc.flushall()
        for i in range(200):
            rc.set(f"cold:{i}", "v")
        for name in names:
            rc.set(name, "x" * 10)
            for _ in range(400):
                rc.get(name)
        shard_of = {n: rc.get_node_from_key(n).name for n in names}
    topology = discover(InstanceMode.CLUSTER, [redis_cluster.addresses[0]], NO_AUTH)

    found = find_hotkeys(topology, NO_AUTH, FAST)

    assert {k.name: (k.shard, k.size) for k in found} == {n: (shard_of[n], 10) for n in names}


def test_master_replica_hot_keys_come_from_the_replica_where_the_reads_are(
    redis_with_replica: tuple[RedisServer, RedisServer],
) -> None:
    master, replica = redis_with_replica
    for server in (master, replica):
        with server.client() as c:
            c.config_set("maxmemory-policy", "allkeys-lfu")
    with master.client() as c:
        c.set("read:on:replica", "v")
        c.mset({f"other:{i}": "v" for i in range(200)})
        assert c.execute_command("WAIT", 1, 5000) == 1  # the replica has the writes
    with replica.client() as r:
        pipe = r.pipeline(transaction=False)
        for _ in range(3000):
            pipe.get("read:on:replica")
        pipe.execute()
        replica_freq = int(r.object("freq", "read:on:replica"))
    topology = discover(InstanceMode.HA, [master.address], NO_AUTH)
    assert [n.address for n in topology.shards[0].replicas] == [replica.address]

    found = find_hotkeys(topology, NO_AUTH, FAST)

    assert found[0].name == "read:on:replica"
    assert found[0].freq == replica_freq > 5  # the master never saw these reads
    assert found[0].shard is None
