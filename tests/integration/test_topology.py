"""Discovery of live deployments: standalone, master/replica and cluster, and its refusals."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from keyscope.domain.errors import InvalidInput, NodeAuthFailed, NodeUnreachable
from keyscope.domain.topology import InstanceMode, NodeRole
from keyscope.redis.auth import NO_AUTH, Auth
from keyscope.redis.info import node_stats
from keyscope.redis.topology import discover
from tests.utils.servers import Cluster, RedisServer, free_port, start_server

pytestmark = pytest.mark.integration

SECRET = "s3cret-pass-42"


def cluster_id(server: RedisServer) -> str:
    with server.client() as c:
        return str(c.execute_command("CLUSTER", "MYID").decode())


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


@pytest.fixture
def protected_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = start_server(tmp_path / "protected", password=SECRET)
    yield server
    server.stop()


def test_standalone_is_one_shard_with_its_engine_version(redis_server: RedisServer) -> None:
    topology = discover(InstanceMode.SINGLE, [redis_server.address], NO_AUTH)

    with redis_server.client() as c:
        version = c.info("server")["redis_version"]
    assert (topology.engine, topology.engine_version) == ("redis", version)
    (shard,) = topology.shards
    assert shard.group_name == "group-0"
    assert shard.replicas == ()
    assert shard.master.address == redis_server.address
    assert shard.master.node_id == md5(redis_server.address)
    assert shard.master.role is NodeRole.MASTER


def test_ha_found_from_the_replica_address_lists_master_and_replica(
    redis_with_replica: tuple[RedisServer, RedisServer],
) -> None:
    master, replica = redis_with_replica

    topology = discover(InstanceMode.HA, [replica.address], NO_AUTH)

    (shard,) = topology.shards
    assert shard.master.address == master.address
    assert [r.address for r in shard.replicas] == [replica.address]
    assert shard.replicas[0].role is NodeRole.SLAVE
    assert shard.read_node().address == replica.address


def test_cluster_lists_every_shard_named_and_identified_by_its_master(
    redis_cluster: Cluster,
) -> None:
    topology = discover(InstanceMode.CLUSTER, [redis_cluster.addresses[1]], NO_AUTH)

    assert sorted(s.master.address for s in topology.shards) == sorted(redis_cluster.addresses)
    assert [s.group_name for s in topology.shards] == ["group-0", "group-1", "group-2"]
    ids = {s.address: cluster_id(s) for s in redis_cluster.masters}
    for shard in topology.shards:
        assert shard.group_id == md5(ids[shard.master.address])
        assert shard.master.node_id == md5(shard.master.address)


def test_cluster_mode_given_a_standalone_node_is_invalid(redis_server: RedisServer) -> None:
    with pytest.raises(InvalidInput, match="not a Redis Cluster node"):
        discover(InstanceMode.CLUSTER, [redis_server.address], NO_AUTH)


def test_single_mode_given_a_cluster_node_is_invalid(redis_cluster: Cluster) -> None:
    with pytest.raises(InvalidInput, match="cluster"):
        discover(InstanceMode.SINGLE, [redis_cluster.addresses[0]], NO_AUTH)


@pytest.mark.parametrize("address", ["localhost", "host:port", "10.0.0.1:0", ":6380", ""])
def test_malformed_address_is_invalid_input(address: str) -> None:
    with pytest.raises(InvalidInput):
        discover(InstanceMode.SINGLE, [address], NO_AUTH)


def test_nothing_listening_is_unreachable_naming_the_node() -> None:
    address = f"127.0.0.1:{free_port()}"
    with pytest.raises(NodeUnreachable) as caught:
        discover(InstanceMode.SINGLE, [address], NO_AUTH, timeout=1.0)
    assert caught.value.node == address


def test_wrong_password_is_auth_failure_and_never_echoes_the_password(
    protected_server: RedisServer,
) -> None:
    wrong = "not-the-" + SECRET
    with pytest.raises(NodeAuthFailed) as caught:
        discover(InstanceMode.SINGLE, [protected_server.address], Auth(password=wrong))
    assert caught.value.node == protected_server.address
    for text in (str(caught.value), repr(caught.value), caught.value.message):
        assert wrong not in text
        assert SECRET not in text


def test_missing_password_is_auth_failure(protected_server: RedisServer) -> None:
    with pytest.raises(NodeAuthFailed, match="requires a password"):
        discover(InstanceMode.SINGLE, [protected_server.address], NO_AUTH)


def test_right_password_discovers(protected_server: RedisServer) -> None:
    topology = discover(InstanceMode.SINGLE, [protected_server.address], Auth(password=SECRET))
    assert topology.nodes[0].address == protected_server.address
    assert SECRET not in repr(topology)


def test_node_stats_report_memory_and_keyspace_per_db(redis_server: RedisServer) -> None:
    with redis_server.client(db=0) as c0, redis_server.client(db=5) as c5:
        c0.set("a", "1")
        c0.set("b", "2", ex=100)
        c5.set("c", "3")
    topology = discover(InstanceMode.SINGLE, [redis_server.address], NO_AUTH)

    stats = node_stats(topology.nodes[0], NO_AUTH)

    assert stats.used_memory > 0
    assert [(d.db, d.keys, d.expires) for d in stats.dbs] == [(0, 2, 1), (5, 1, 0)]


def test_valkey_is_reported_as_valkey_with_its_own_version(valkey_server: RedisServer) -> None:
    topology = discover(InstanceMode.SINGLE, [valkey_server.address], NO_AUTH)

    with valkey_server.client() as c:
        info = c.info("server")
    assert topology.engine == "valkey"
    assert topology.engine_version == info["valkey_version"]
