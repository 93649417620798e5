"""Every engine of the matrix starts by name: standalone, with a replica, as a 3-shard cluster."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.utils.engines import ALL_ENGINES, CLUSTER_ENGINES, engine_cluster, engine_of
from tests.utils.servers import PORT_CEILING, RedisServer

pytestmark = pytest.mark.integration


def _reported_version(server: RedisServer) -> tuple[str, tuple[int, ...]]:
    info = server.client().info("server")
    if info.get("server_name") == "valkey" or "valkey_version" in info:
        return "valkey", tuple(int(p) for p in str(info["valkey_version"]).split("."))
    return "redis", tuple(int(p) for p in str(info["redis_version"]).split("."))


@pytest.mark.parametrize("engine_standalone", ALL_ENGINES, indirect=True)
def test_each_engine_starts_by_name_and_reports_its_version(
    engine_standalone: RedisServer,
) -> None:
    spec = engine_of(engine_standalone)
    family, version = _reported_version(engine_standalone)
    assert family == spec.family
    assert version[:2] == spec.version[:2]
    allocator = engine_standalone.client().info("memory")["mem_allocator"]
    assert str(allocator).startswith(spec.allocator)
    loaded = {m[b"name"].decode() for m in engine_standalone.client().module_list()}
    assert loaded == set(spec.modules)


@pytest.mark.parametrize("engine_with_replica", ALL_ENGINES, indirect=True)
def test_each_engine_runs_a_replica_that_follows_its_master(
    engine_with_replica: tuple[RedisServer, RedisServer],
) -> None:
    master, replica = engine_with_replica
    assert replica.binaries == master.binaries
    master.client().set("k", "v")
    master.client().wait(1, 5000)
    assert replica.client().get("k") == b"v"


@pytest.mark.parametrize("name", CLUSTER_ENGINES)
def test_each_cluster_engine_forms_three_shards_below_the_port_ceiling(
    name: str, tmp_path: Path
) -> None:
    with engine_cluster(name, tmp_path) as cluster:
        assert len(cluster.masters) == 3
        assert all(s.port < PORT_CEILING for s in cluster.servers)
        client = cluster.client()
        client.mset_nonatomic({f"k{i}": i for i in range(30)})
        assert sum(m.client().dbsize() for m in cluster.masters) == 30
        assert all(m.client().dbsize() > 0 for m in cluster.masters)
        client.close()
