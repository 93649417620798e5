"""The SDK's instance calls read populated models: list, show, paging, live status, topology."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkdcs.v2 import (
    BatchShowNodesInformationRequest,
    DcsClient,
    ListGroupReplicationInfoRequest,
    ListInstancesRequest,
    ShowInstanceRequest,
    ShowInstanceTopologyRequest,
    ShowNodesInformationRequest,
    ShowReplicationStatesRequest,
)

from tests.utils.dcs import AK, PROJECT, SK, SignedClient
from tests.utils.servers import Cluster, RedisServer, start_cluster, start_server
from tests.utils.service import running_app

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

MB = 1024**2


@pytest.fixture
def service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[SignedClient, DcsClient]]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with running_app(tmp_path) as (_app, signed):
        client = (
            DcsClient.new_builder()
            .with_credentials(BasicCredentials(AK, SK, PROJECT))
            .with_endpoints([str(signed.http.base_url)])
            .build()
        )
        yield signed, client


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[RedisServer]]:
    started = [start_server(tmp_path / f"r{i}") for i in range(3)]
    yield started
    for server in started:
        server.stop()


def _register(signed: SignedClient, name: str, addresses: list[str], mode: str = "single") -> str:
    body = {"name": name, "mode": mode, "addresses": addresses}
    response = signed.post("/instances", json_body=body)
    assert response.status_code == 200, response.text
    return str(response.json()["instance_id"])


def test_list_instances_by_name_finds_that_instance_with_its_live_figures(
    service: tuple[SignedClient, DcsClient], servers: list[RedisServer]
) -> None:
    signed, client = service
    servers[1].client().config_set("maxmemory", str(2 * 1024 * MB))
    ids = {
        name: _register(signed, name, [server.address])
        for name, server in zip(["lfu", "lfu-ha", "cache"], servers, strict=True)
    }

    found = client.list_instances(ListInstancesRequest(name="lfu-ha"))
    assert found.instance_num == 1
    (only,) = found.instances
    assert (only.name, only.instance_id) == ("lfu-ha", ids["lfu-ha"])
    assert (only.status, only.ip, only.port) == ("RUNNING", servers[1].host, servers[1].port)
    assert (only.capacity, only.max_memory) == (2, 2048)
    used = servers[1].client().info("memory")["used_memory"]
    assert abs(only.used_memory - used / MB) <= 1
    assert only.engine == "redis"
    assert only.engine_version == servers[1].client().info("server")["redis_version"]

    fuzzy = client.list_instances(ListInstancesRequest(name="LFU"))
    assert sorted(i.name for i in fuzzy.instances) == ["lfu", "lfu-ha"]
    exact = client.list_instances(ListInstancesRequest(name="lfu", name_equal="true"))
    assert [i.instance_id for i in exact.instances] == [ids["lfu"]]
    by_id = client.list_instances(ListInstancesRequest(instance_id=ids["cache"]))
    assert [i.name for i in by_id.instances] == ["cache"]

    shown = client.show_instance(ShowInstanceRequest(instance_id=ids["lfu-ha"]))
    assert (shown.name, shown.status, shown.capacity, shown.max_memory) == (
        "lfu-ha", "RUNNING", 2, 2048
    )  # fmt: skip
    assert (shown.cache_mode, shown.sharding_count, shown.replica_count) == ("single", 1, 1)
    assert (shown.no_password_access, shown.product_type) == ("true", "generic")


def test_paging_on_instance_num_visits_every_instance_once(
    service: tuple[SignedClient, DcsClient], servers: list[RedisServer]
) -> None:
    signed, client = service
    registered = {_register(signed, f"page-{i}", [s.address]) for i, s in enumerate(servers)}
    seen: list[str] = []
    offset = 0
    while True:
        page = client.list_instances(ListInstancesRequest(offset=offset, limit=2))
        assert page.instance_num == 3
        seen += [i.instance_id for i in page.instances]
        offset += 2
        if offset >= page.instance_num:
            break
    assert sorted(seen) == sorted(registered)
    assert len(seen) == 3
    # the DCS parameters keyscope has no use for are taken, not refused
    other = client.list_instances(ListInstancesRequest(include_failure="true", tags="k=v"))
    assert other.instance_num == 3


def test_a_stopped_redis_shows_error_and_its_node_inactive(
    service: tuple[SignedClient, DcsClient], servers: list[RedisServer]
) -> None:
    signed, client = service
    alive_id = _register(signed, "alive", [servers[0].address])
    dead_id = _register(signed, "dead", [servers[1].address])
    servers[1].stop()

    shown = client.show_instance(ShowInstanceRequest(instance_id=dead_id))
    assert shown.status == "ERROR"
    assert shown.used_memory is None
    errors = client.list_instances(ListInstancesRequest(status="ERROR"))
    assert [i.instance_id for i in errors.instances] == [dead_id]
    running = client.list_instances(ListInstancesRequest(status="RUNNING"))
    assert [i.instance_id for i in running.instances] == [alive_id]
    raw = signed.get(f"/instances/{dead_id}").json()
    assert raw["unreachable_nodes"] == [servers[1].address]

    topology = client.show_instance_topology(ShowInstanceTopologyRequest(instance_id=dead_id))
    assert [(s.port, s.status, s.dbs) for s in topology.redis_server] == [
        (str(servers[1].port), "Inactive", None)
    ]
    nodes = client.show_nodes_information(ShowNodesInformationRequest(instance_id=dead_id))
    assert [n.status for n in nodes.nodes] == ["Inactive"]
    batch = client.batch_show_nodes_information(BatchShowNodesInformationRequest())
    assert {i.instance_id: [n.status for n in i.nodes] for i in batch.instances} == {
        alive_id: ["Active"], dead_id: ["Inactive"]
    }  # fmt: skip
    groups = client.list_group_replication_info(
        ListGroupReplicationInfoRequest(instance_id=dead_id)
    )
    assert [r.status for r in groups.group_list[0].replication_list] == ["Inactive"]
    alive_groups = client.list_group_replication_info(
        ListGroupReplicationInfoRequest(instance_id=alive_id)
    )
    assert alive_groups.group_list[0].replication_list[0].status == "Active"
    assert alive_groups.group_list[0].group_id != groups.group_list[0].group_id


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    started = start_cluster(tmp_path / "cluster", shards=3)
    yield started
    started.stop()


def test_the_topology_of_a_three_shard_cluster_is_each_master_with_its_own_keys(
    service: tuple[SignedClient, DcsClient], cluster: Cluster
) -> None:
    signed, client = service
    assert all(s.port < 55000 for s in cluster.servers)
    with cluster.client() as rc:
        for i in range(300):
            rc.set(f"user:{i}", "v", ex=3600 if i % 3 == 0 else None)
    instance_id = _register(signed, "shards", [cluster.addresses[0]], mode="cluster")

    topology = client.show_instance_topology(ShowInstanceTopologyRequest(instance_id=instance_id))
    by_port = {int(s.port): s for s in topology.redis_server}
    assert set(by_port) == {s.port for s in cluster.masters}
    for master in cluster.masters:
        entry = by_port[master.port]
        keyspace = master.client().info("keyspace")["db0"]
        assert (entry.status, entry.node_type) == ("Active", "master")
        assert (entry.dbs.db_idx, entry.dbs.keys, entry.dbs.expires) == (
            "0", str(keyspace["keys"]), str(keyspace["expires"])
        )  # fmt: skip
        assert entry.dims.dim_k == "dcs_cache_node"
        assert entry.used_memory is not None
    assert sum(int(s.dbs.keys) for s in topology.redis_server) == 300

    groups = client.list_group_replication_info(
        ListGroupReplicationInfoRequest(instance_id=instance_id)
    )
    assert groups.group_count == 3
    assert len({g.group_id for g in groups.group_list}) == 3
    assert {g.group_id for g in groups.group_list} == {s.group_id for s in topology.redis_server}
    for group in groups.group_list:
        states = client.show_replication_states(
            ShowReplicationStatesRequest(instance_id=instance_id, group_id=group.group_id)
        )
        assert [(r.replication_role, r.status) for r in states.body] == [("master", "Active")]

    shown = client.show_instance(ShowInstanceRequest(instance_id=instance_id))
    assert (shown.status, shown.cache_mode, shown.sharding_count) == ("RUNNING", "cluster", 3)
    used = sum(m.client().info("memory")["used_memory"] for m in cluster.masters)
    assert abs(shown.used_memory - used / MB) <= 1
