"""Hot-key analysis by LFU counters against live servers, with traffic the tests send.

The hot keys reported are exactly the keys driven above the floor, hottest first, wherever
the reads went (master, replica, any shard); keys written once or barely read never appear.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from keyscope.analysis.hotkeys import ensure_hotkeys_supported, find_hotkeys
from keyscope.domain.errors import Unsupported
from keyscope.domain.scan import ScanOptions
from keyscope.domain.topology import InstanceMode, Topology
from keyscope.redis.auth import NO_AUTH
from keyscope.redis.topology import discover
from tests.utils.hotkeys_engine import engine_binary
from tests.utils.servers import (
    REDIS_CLI,
    REDIS_SERVER,
    Cluster,
    RedisServer,
    running,
    start_server,
)
from tests.utils.traffic import plant, read_many, write_cold

pytestmark = pytest.mark.integration

FAST = ScanOptions(max_ops_per_sec=None, scan_count=100)


def _lfu(*servers: RedisServer) -> None:
    for server in servers:
        with server.client() as c:
            c.config_set("maxmemory-policy", "allkeys-lfu")


def _counters(client: redis.Redis, names: list[str]) -> dict[str, int]:
    """What the server itself says (OBJECT FREQ does not touch the key)."""
    return {n: int(client.object("freq", n)) for n in names}


def test_standalone_reports_exactly_the_keys_driven_above_the_floor_hottest_first(
    redis_lfu_server: RedisServer,
) -> None:
    client = redis_lfu_server.client()
    hot = plant(lambda _: client, lambda _: client)
    topology = discover(InstanceMode.SINGLE, [redis_lfu_server.address], NO_AUTH)

    report = find_hotkeys(topology, NO_AUTH, FAST)

    assert [k.name for k in report.keys] == hot
    assert {k.name: k.freq for k in report.keys} == _counters(client, hot)
    assert {(k.type, k.size, k.unit, k.db) for k in report.keys} == {("string", 32, "byte", 0)}
    assert {k.node for k in report.keys} == {redis_lfu_server.address}
    assert {(k.shard, k.cpu_share, k.net_share) for k in report.keys} == {(None, None, None)}
    (floor,) = report.lfu
    assert (floor.log_factor, floor.decay_time, floor.min_freq, floor.from_server) == (
        10, 1, 10, True,
    )  # fmt: skip
    assert report.min_accesses == 100 and report.tracked_nodes == ()


def test_an_instance_with_no_hot_key_answers_an_empty_list(redis_lfu_server: RedisServer) -> None:
    client = redis_lfu_server.client()
    plant(lambda _: client, lambda _: client, hot={})
    topology = discover(InstanceMode.SINGLE, [redis_lfu_server.address], NO_AUTH)

    assert find_hotkeys(topology, NO_AUTH, FAST).keys == []


def test_the_floor_is_read_from_the_servers_lfu_log_factor(redis_lfu_server: RedisServer) -> None:
    client = redis_lfu_server.client()
    client.config_set("lfu-log-factor", 0)  # every access counts: counter = 5 + accesses
    client.hset("read:120", mapping={f"f{i}": i for i in range(7)})
    write_cold(client, ["read:50"])
    pipe = client.pipeline(transaction=False)
    for _ in range(120):
        pipe.hget("read:120", "f1")
    pipe.execute()
    read_many(client, "read:50", 50)
    topology = discover(InstanceMode.SINGLE, [redis_lfu_server.address], NO_AUTH)

    default = find_hotkeys(topology, NO_AUTH, FAST)
    before = _counters(client, ["read:120", "read:50"])  # sizing HLEN touched it once (< 7.2)
    lower = find_hotkeys(topology, NO_AUTH, dataclasses.replace(FAST, hotkey_min_accesses=40))

    assert [(k.name, k.freq) for k in default.keys] == [("read:120", 125)]
    hashed = default.keys[0]
    assert (hashed.type, hashed.size, hashed.unit) == ("hash", 7, "count")
    assert (default.lfu[0].log_factor, default.lfu[0].min_freq) == (0, 105)
    assert [(k.name, k.freq) for k in lower.keys] == list(before.items())
    assert before["read:50"] == 55


@pytest.mark.parametrize("reads_on", ["master", "replica"])
def test_master_replica_hot_keys_are_found_on_the_node_that_serves_the_reads(
    redis_with_replica: tuple[RedisServer, RedisServer], reads_on: str
) -> None:
    master, replica = redis_with_replica
    _lfu(master, replica)
    reader = {"master": master, "replica": replica}[reads_on]
    writes, reads = master.client(), reader.client()
    hot = plant(lambda _: writes, lambda _: reads)
    topology = discover(InstanceMode.HA, [master.address], NO_AUTH)
    assert [n.address for n in topology.shards[0].replicas] == [replica.address]

    report = find_hotkeys(topology, NO_AUTH, FAST)

    assert [k.name for k in report.keys] == hot
    assert {k.name: k.freq for k in report.keys} == _counters(reader.client(), hot)
    assert {k.node for k in report.keys} == {reader.address}
    assert {f.node for f in report.lfu} == {master.address, replica.address}


def test_a_key_read_on_both_nodes_reports_its_highest_counter_and_where(
    redis_with_replica: tuple[RedisServer, RedisServer],
) -> None:
    master, replica = redis_with_replica
    _lfu(master, replica)
    reads = {"on:master": 20_000, "on:replica": 3_000}
    write_cold(master.client(), reads)
    assert master.client().execute_command("WAIT", 1, 5000) == 1
    read_many(master.client(), "on:master", reads["on:master"])
    read_many(replica.client(), "on:master", 500)
    read_many(replica.client(), "on:replica", reads["on:replica"])
    topology = discover(InstanceMode.HA, [replica.address], NO_AUTH)

    report = find_hotkeys(topology, NO_AUTH, FAST)

    assert [(k.name, k.node) for k in report.keys] == [
        ("on:master", master.address),
        ("on:replica", replica.address),
    ]
    assert report.keys[0].freq == int(master.client().object("freq", "on:master"))


def _node_client(cluster: Cluster) -> Callable[[str], redis.Redis]:
    rc = cluster.client()
    by_name = {s.address: s.client() for s in cluster.masters}  # a client each costs ~10 ms

    def client_for(key: str) -> redis.Redis:
        return by_name[rc.get_node_from_key(key).name]

    return client_for


def test_a_cluster_reports_the_hot_keys_of_every_shard_with_shard_and_node(
    redis_cluster: Cluster,
) -> None:
    _lfu(*redis_cluster.masters)
    redis_cluster.client().flushall()
    client_for = _node_client(redis_cluster)
    hot = {"{a}hot": 30_000, "{b}hot": 5_000, "{c}hot": 800}
    shards = {client_for(n).connection_pool.connection_kwargs["port"] for n in hot}
    assert len(shards) == 3  # the three hash tags live on three shards
    names = plant(client_for, client_for, hot=hot, cold=300)
    topology = discover(InstanceMode.CLUSTER, [redis_cluster.addresses[0]], NO_AUTH)

    report = find_hotkeys(topology, NO_AUTH, FAST)

    assert [k.name for k in report.keys] == names
    rc = redis_cluster.client()
    for key in report.keys:
        assert key.shard == key.node == rc.get_node_from_key(key.name).name
        assert key.freq == int(client_for(key.name).object("freq", key.name))


def test_a_server_without_lfu_policy_nor_hotkeys_is_refused_naming_the_policy(
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
        assert "HOTKEYS" in caught.value.message
        assert redis_server.address in caught.value.message


def test_a_replica_without_lfu_policy_is_refused_because_its_reads_would_be_missed(
    redis_with_replica: tuple[RedisServer, RedisServer],
) -> None:
    master, replica = redis_with_replica
    _lfu(master)
    topology = discover(InstanceMode.HA, [master.address], NO_AUTH)

    with pytest.raises(Unsupported) as caught:
        ensure_hotkeys_supported(topology, NO_AUTH)
    assert replica.address in caught.value.message


def test_volatile_lfu_is_accepted(redis_server: RedisServer) -> None:
    with redis_server.client() as c:
        c.config_set("maxmemory-policy", "volatile-lfu")
    topology = discover(InstanceMode.SINGLE, [redis_server.address], NO_AUTH)

    ensure_hotkeys_supported(topology, NO_AUTH)


def test_redis_3_0_is_refused_naming_the_version() -> None:
    old = Topology(InstanceMode.SINGLE, "redis", "3.0.7")
    with pytest.raises(Unsupported) as caught:
        ensure_hotkeys_supported(old, NO_AUTH)
    assert caught.value.code == "DCS.4922"
    assert "3.0.7" in caught.value.message


def _redis_cli_hotkeys(cli: str, server: RedisServer) -> list[tuple[str, int]]:
    """``redis-cli --hotkeys``: its summary's keys and counters, highest first."""
    done = subprocess.run(
        [cli, "-h", server.host, "-p", str(server.port), "--hotkeys"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    summary = done.stdout.split("-------- summary -------", 1)[1]
    found = re.findall(r'hot key found with counter: (\d+)\tkeyname: "(.*)"', summary)
    return [(name, int(counter)) for counter, name in found]


@pytest.mark.parametrize("engine", ["default", "hotkeys-engine"])
def test_redis_cli_hotkeys_on_the_same_server_lists_the_same_top_keys(
    tmp_path: Path, engine: str
) -> None:
    binary, cli = REDIS_SERVER, REDIS_CLI
    if engine == "hotkeys-engine":
        binary, cli = engine_binary(), engine_binary("redis-cli")
    extra = ["--maxmemory-policy", "allkeys-lfu", "--lfu-decay-time", "0"]  # no minute ticks
    with running(start_server(tmp_path / engine, extra=extra, binary=binary)) as server:
        client = server.client()
        hot = plant(lambda _: client, lambda _: client)
        theirs = _redis_cli_hotkeys(cli, server)  # first: keyscope's sizing may touch (< 7.2)
        topology = discover(InstanceMode.SINGLE, [server.address], NO_AUTH)
        report = find_hotkeys(topology, NO_AUTH, dataclasses.replace(FAST, hotkeys_window_s=1))

    ours = [(k.name, k.freq) for k in report.keys]
    assert [name for name, _ in ours] == hot
    assert theirs[: len(ours)] == ours
    assert theirs[len(ours)][1] < report.lfu[0].min_freq  # the rest of its list is below the floor
