"""Big-key analysis against live servers: found keys and sizes checked against the server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from keyscope.analysis.bigkeys import ensure_bigkeys_supported, find_bigkeys
from keyscope.domain.errors import NodePermissionDenied, Unsupported
from keyscope.domain.scan import BigKeyThresholds, ScanOptions
from keyscope.domain.topology import InstanceMode, Topology
from keyscope.redis.auth import NO_AUTH
from keyscope.redis.topology import discover
from tests.utils.servers import Cluster, RedisServer, start_cluster, start_server, wait_in_sync

pytestmark = pytest.mark.integration

FAST = ScanOptions(max_ops_per_sec=None, scan_count=200)

SIZE_COMMANDS = {
    "string": "STRLEN",
    "list": "LLEN",
    "set": "SCARD",
    "zset": "ZCARD",
    "hash": "HLEN",
    "stream": "XLEN",
}


@pytest.fixture(scope="module")
def cluster_with_replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    cluster = start_cluster(tmp_path_factory.mktemp("cluster-r"), shards=3, with_replicas=True)
    yield cluster
    cluster.stop()


def write_collection(c: redis.Redis, kind: str, key: str, n: int, value: bytes = b"v") -> None:
    """A collection of ``n`` elements of type ``kind``, written in chunks."""
    for start in range(0, n, 1000):
        items = range(start, min(n, start + 1000))
        if kind == "list":
            c.rpush(key, *[value] * len(items))
        elif kind == "set":
            c.sadd(key, *[f"m{i}" for i in items])
        elif kind == "zset":
            c.zadd(key, {f"m{i}": i for i in items})
        elif kind == "hash":
            c.hset(key, mapping={f"f{i}": value for i in items})
        elif kind == "stream":
            pipe = c.pipeline(transaction=False)
            for _ in items:
                pipe.xadd(key, {"f": value})
            pipe.execute()


def server_size(c: redis.Redis, key: str) -> tuple[str, int]:
    """What the server itself says: TYPE, then STRLEN/LLEN/SCARD/ZCARD/HLEN/XLEN."""
    kind = c.type(key).decode()
    return kind, int(c.execute_command(SIZE_COMMANDS[kind], key))


def fill_small(c: redis.Redis, prefix: str, n: int) -> None:
    pipe = c.pipeline(transaction=False)
    for i in range(n):
        pipe.set(f"{prefix}:s:{i}", "x" * (i % 50))
        pipe.rpush(f"{prefix}:l:{i}", "a", "b")
        pipe.sadd(f"{prefix}:set:{i}", "a")
        pipe.zadd(f"{prefix}:z:{i}", {"a": 1})
        pipe.hset(f"{prefix}:h:{i}", "f", "v")
    pipe.execute()


def test_every_key_over_the_thresholds_is_found_with_the_size_the_server_reports(
    redis_server: RedisServer,
) -> None:
    limit = BigKeyThresholds().collection_elements
    with redis_server.client(db=0) as c0, redis_server.client(db=2) as c2:
        c0.set("str:big", "x" * (10 * 1024 + 1))
        c0.set("str:at-threshold", "x" * (10 * 1024))
        c2.set("str:big-db2", "y" * 50_000)
        for kind in ("list", "set", "zset", "hash", "stream"):
            write_collection(c0, kind, f"{kind}:big", limit + 1)
            write_collection(c0, kind, f"{kind}:at-threshold", limit)
        write_collection(c2, "hash", "hash:big-db2", limit + 7)
        fill_small(c0, "small", 200)
        fill_small(c2, "small", 50)
        expected = {
            (db, name): server_size(c, name)
            for db, c, names in (
                (
                    0,
                    c0,
                    ["str:big", *(f"{k}:big" for k in ("list", "set", "zset", "hash", "stream"))],
                ),
                (2, c2, ["str:big-db2", "hash:big-db2"]),
            )
            for name in names
        }
    topology = discover(InstanceMode.SINGLE, [redis_server.address], NO_AUTH)

    found = find_bigkeys(topology, NO_AUTH, FAST)

    assert {(k.db, k.name): (k.type, k.size) for k in found} == expected
    assert all(k.shard is None for k in found)
    assert all(k.unit == ("byte" if k.type == "string" else "count") for k in found)


def test_collection_whose_memory_exceeds_the_byte_threshold_is_big(
    redis_server: RedisServer,
) -> None:
    with redis_server.client() as c:
        write_collection(c, "hash", "fat", 60, value=b"z" * 30_000)
        write_collection(c, "hash", "thin", 60, value=b"z" * 100)
    thresholds = BigKeyThresholds(collection_bytes=1024 * 1024)
    topology = discover(InstanceMode.SINGLE, [redis_server.address], NO_AUTH)

    found = find_bigkeys(topology, NO_AUTH, ScanOptions(max_ops_per_sec=None, bigkeys=thresholds))

    assert [(k.name, k.type, k.size, k.unit) for k in found] == [("fat", "hash", 60, "count")]


def test_kept_records_are_the_largest_within_the_per_type_limits(
    redis_server: RedisServer,
) -> None:
    with redis_server.client() as c:
        for i in range(30):
            c.set(f"s{i:02d}", "x" * (100 + i))
        for i in range(25):
            c.rpush(f"l{i:02d}", *["v"] * (10 + i))
        for i in range(3):
            c.sadd(f"set{i}", *[f"m{j}" for j in range(10 + i)])
    thresholds = BigKeyThresholds(string_bytes=50, collection_elements=5)
    topology = discover(InstanceMode.SINGLE, [redis_server.address], NO_AUTH)

    found = find_bigkeys(topology, NO_AUTH, ScanOptions(max_ops_per_sec=None, bigkeys=thresholds))

    strings = [k for k in found if k.type == "string"]
    lists = [k for k in found if k.type == "list"]
    sets = [k for k in found if k.type == "set"]
    assert [k.name for k in strings] == [f"s{i:02d}" for i in range(29, 9, -1)]
    assert [k.size for k in lists] == list(range(34, 14, -1))
    assert [k.size for k in sets] == [12, 11, 10]
    assert len(found) == 43


def test_big_keys_are_found_where_memory_usage_is_renamed_away(tmp_path: Path) -> None:
    server = start_server(tmp_path / "no-memory", extra=["--rename-command", "MEMORY", ""])
    try:
        with server.client() as c:
            c.set("blob", "x" * 20_000)
            write_collection(c, "zset", "ranking", 5001)
            fill_small(c, "small", 50)
        topology = discover(InstanceMode.SINGLE, [server.address], NO_AUTH)

        found = find_bigkeys(topology, NO_AUTH, FAST)

        assert [(k.name, k.size) for k in found] == [("blob", 20_000), ("ranking", 5001)]
    finally:
        server.stop()


def test_memory_usage_denied_by_the_acl_fails_the_analysis_naming_the_rule(
    redis_server: RedisServer,
) -> None:
    with redis_server.client() as c:
        c.set("k", "v")
        c.execute_command("ACL", "SETUSER", "default", "-memory", "-type")
    topology = discover(InstanceMode.SINGLE, [redis_server.address], NO_AUTH)

    with pytest.raises(NodePermissionDenied) as caught:
        find_bigkeys(topology, NO_AUTH, FAST)

    assert caught.value.node == redis_server.address
    assert caught.value.message == (
        f"{redis_server.address}: the server refused MEMORY USAGE to this user (NOPERM); "
        "allow it with the ACL rule +memory|usage"
    )


def commandstat_calls(server: RedisServer, command: str) -> int:
    with server.client() as c:
        stats = c.info("commandstats")
    return int(stats.get(f"cmdstat_{command}", {}).get("calls", 0))


def test_master_replica_instance_is_scanned_on_the_replica(
    redis_with_replica: tuple[RedisServer, RedisServer],
) -> None:
    master, replica = redis_with_replica
    with master.client() as c:
        c.set("blob", "x" * 20_000)
        fill_small(c, "small", 100)
    topology = discover(InstanceMode.HA, [master.address], NO_AUTH)
    wait_in_sync(master, replica)

    found = find_bigkeys(topology, NO_AUTH, FAST)

    assert [(k.name, k.size) for k in found] == [("blob", 20_000)]
    assert commandstat_calls(replica, "scan") >= 1
    assert commandstat_calls(replica, "memory|usage") == 501
    assert commandstat_calls(master, "scan") == 0
    assert commandstat_calls(master, "memory|usage") == 0


def cluster_expected(cluster: Cluster, names: list[str]) -> dict[str, str]:
    """Key → ip:port of the master serving its slot, as the cluster says."""
    with cluster.client() as rc:
        return {name: rc.get_node_from_key(name).name for name in names}


def test_cluster_every_shard_is_scanned_and_each_key_carries_its_masters_address(
    redis_cluster: Cluster,
) -> None:
    names = [f"big:{i}" for i in range(30)]
    with redis_cluster.client() as rc:
        rc.flushall()
        for i, name in enumerate(names):
            rc.set(name, "x" * (10_241 + i))
        for i in range(300):
            rc.set(f"small:{i}", "x")
    expected = cluster_expected(redis_cluster, names)
    topology = discover(InstanceMode.CLUSTER, [redis_cluster.addresses[0]], NO_AUTH)

    found = find_bigkeys(topology, NO_AUTH, FAST)

    assert {k.name: k.shard for k in found} == {n: expected[n] for n in names[10:]}
    assert [k.size for k in found] == [10_241 + i for i in range(29, 9, -1)]
    assert len(set(expected.values())) == 3


def test_cluster_with_replicas_reads_every_replica_and_reports_the_master_shard(
    cluster_with_replicas: Cluster,
) -> None:
    names = [f"list:{i}" for i in range(12)]
    with cluster_with_replicas.client() as rc:
        for name in names:
            write_collection(rc, "list", name, 5001)
    expected = cluster_expected(cluster_with_replicas, names)
    topology = discover(InstanceMode.CLUSTER, [cluster_with_replicas.addresses[0]], NO_AUTH)
    for shard in topology.shards:
        _wait_cluster_replica(shard.replicas[0].port, shard.master.port, cluster_with_replicas)

    found = find_bigkeys(topology, NO_AUTH, FAST)

    assert {k.name: (k.shard, k.size) for k in found} == {n: (expected[n], 5001) for n in names}
    for server in cluster_with_replicas.replicas:
        assert commandstat_calls(server, "scan") >= 1
    for server in cluster_with_replicas.masters:
        assert commandstat_calls(server, "scan") == 0


def _wait_cluster_replica(replica_port: int, master_port: int, cluster: Cluster) -> None:
    by_port = {s.port: s for s in cluster.servers}
    wait_in_sync(by_port[master_port], by_port[replica_port])


def test_progress_reaches_the_number_of_keys(redis_server: RedisServer) -> None:
    with redis_server.client() as c:
        fill_small(c, "k", 100)
    topology = discover(InstanceMode.SINGLE, [redis_server.address], NO_AUTH)
    seen: list[tuple[int, int | None]] = []

    find_bigkeys(topology, NO_AUTH, FAST, progress=lambda n, total: seen.append((n, total)))

    assert seen[-1] == (500, 500)
    assert [n for n, _ in seen] == sorted(n for n, _ in seen)


def test_servers_without_scan_are_refused_with_dcs_4919() -> None:
    old = Topology(InstanceMode.SINGLE, "redis", "2.6.17")
    with pytest.raises(Unsupported) as caught:
        ensure_bigkeys_supported(old)
    assert caught.value.code == "DCS.4919"
    assert "2.6.17" in caught.value.message
    ensure_bigkeys_supported(Topology(InstanceMode.SINGLE, "redis", "2.8.0"))


def test_valkey_big_keys_are_found_the_same_way(valkey_server: RedisServer) -> None:
    with valkey_server.client() as c:
        c.set("blob", "x" * 20_000)
        write_collection(c, "hash", "wide", 5001)
        fill_small(c, "small", 50)
    topology = discover(InstanceMode.SINGLE, [valkey_server.address], NO_AUTH)

    found = find_bigkeys(topology, NO_AUTH, FAST)

    assert [(k.name, k.type, k.size) for k in found] == [
        ("blob", "string", 20_000),
        ("wide", "hash", 5001),
    ]


@pytest.fixture
def compressing_server(tmp_path: Path) -> Iterator[RedisServer]:
    extra = ["--list-compress-depth", "1", "--list-max-listpack-size", "1000"]
    server = start_server(tmp_path / "compress", extra=extra)
    yield server
    server.stop()


def test_long_compressed_list_is_found_though_it_takes_little_memory(
    compressing_server: RedisServer,
) -> None:
    with compressing_server.client() as c:
        for _ in range(5):
            c.lpush("squeezed", *["a" * 8] * 1000)
        c.lpush("squeezed", "a" * 8)
        memory = int(c.memory_usage("squeezed"))
    assert memory < BigKeyThresholds().collection_elements  # under any sound memory bound
    topology = discover(InstanceMode.SINGLE, [compressing_server.address], NO_AUTH)

    found = find_bigkeys(topology, NO_AUTH, FAST)

    assert [(k.name, k.type, k.size) for k in found] == [("squeezed", "list", 5001)]


def test_each_big_key_carries_the_memory_usage_the_server_reports(
    redis_server: RedisServer,
) -> None:
    limit = BigKeyThresholds().collection_elements
    with redis_server.client() as c:
        c.set("mem:blob", "x" * 30_000)
        write_collection(c, "hash", "mem:wide", limit + 1)
        fill_small(c, "mem-small", 50)
        expected = {name: int(c.memory_usage(name)) for name in ("mem:blob", "mem:wide")}
    topology = discover(InstanceMode.SINGLE, [redis_server.address], NO_AUTH)

    found = find_bigkeys(topology, NO_AUTH, FAST)

    assert {k.name: k.memory_bytes for k in found if k.name.startswith("mem:")} == expected


def test_big_keys_carry_their_memory_where_lists_are_compressed(
    compressing_server: RedisServer,
) -> None:
    with compressing_server.client() as c:
        c.set("blob", "x" * 20_000)
        write_collection(c, "set", "members", 5001)
        expected = {name: int(c.memory_usage(name)) for name in ("blob", "members")}
    topology = discover(InstanceMode.SINGLE, [compressing_server.address], NO_AUTH)

    found = find_bigkeys(topology, NO_AUTH, FAST)

    assert {k.name: k.memory_bytes for k in found} == expected


def test_memory_unknown_where_memory_usage_is_renamed_away(tmp_path: Path) -> None:
    server = start_server(tmp_path / "no-memory", extra=["--rename-command", "MEMORY", ""])
    try:
        with server.client() as c:
            c.set("blob", "x" * 20_000)
        topology = discover(InstanceMode.SINGLE, [server.address], NO_AUTH)

        found = find_bigkeys(topology, NO_AUTH, FAST)

        assert [(k.name, k.memory_bytes) for k in found] == [("blob", None)]
    finally:
        server.stop()


def test_big_string_found_without_memory_where_memory_usage_is_refused_and_not_needed(
    compressing_server: RedisServer,
) -> None:
    with compressing_server.client() as c:
        c.set("blob", "x" * 20_000)
        c.set("small", "x")
        c.execute_command("ACL", "SETUSER", "default", "-memory")
    topology = discover(InstanceMode.SINGLE, [compressing_server.address], NO_AUTH)

    found = find_bigkeys(topology, NO_AUTH, FAST)

    assert [(k.name, k.size, k.memory_bytes) for k in found] == [("blob", 20_000, None)]
