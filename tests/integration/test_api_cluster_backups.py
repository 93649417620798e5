"""A backup of a cluster holds one file per shard, read from its replica; all or nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration._offline_service import Service
from tests.utils.dcs import SignedClient, is_dcs_error
from tests.utils.servers import Cluster, RedisServer, start_cluster, start_server
from tests.utils.service import running_app

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Three shards, each a master and a replica, with keys on every shard."""
    cluster = start_cluster(tmp_path_factory.mktemp("cluster"), shards=3, with_replicas=True)
    rc = cluster.client()
    try:
        for i in range(60):
            rc.set(f"key:{i}", "v" * i)
    finally:
        rc.close()
    for server in cluster.servers:
        server.client().config_set("repl-diskless-sync-delay", "0")
    yield cluster
    cluster.stop()


@pytest.fixture
def service(tmp_path: Path, cluster: Cluster) -> Iterator[Service]:
    with running_app(tmp_path) as (_app, dcs):
        body = {"name": "c", "mode": "cluster", "addresses": [cluster.addresses[0]]}
        created = dcs.post("/instances", json_body=body)
        assert created.status_code == 200, created.text
        yield Service(dcs, created.json()["instance_id"], tmp_path / "keyscope-data")


def _nodes(svc: Service) -> dict[str, dict[str, Any]]:
    """The instance's nodes by ``ip:port``."""
    nodes = svc.dcs.get(f"{svc.base}/logical-nodes").json()["nodes"]
    return {f"{n['node_ip']}:{n['node_port']}": n for n in nodes}


def _finished_backup(svc: Service, body: dict[str, Any] | None = None) -> dict[str, Any]:
    created = svc.dcs.post(f"{svc.base}/backups", json_body=body or {})
    assert created.status_code == 200, created.text
    backup_id = created.json()["backup_id"]

    def fetch() -> dict[str, Any]:
        listing = svc.dcs.get(f"{svc.base}/backups").json()
        return next(r for r in listing["backup_record_response"] if r["backup_id"] == backup_id)

    return svc.wait_for(fetch, lambda r: r["status"] in ("succeed", "failed"))


def _replica_of(cluster: Cluster, master: RedisServer) -> RedisServer:
    for replica in cluster.replicas:
        info = replica.client().info("replication")
        if int(info["master_port"]) == master.port:
            return replica
    raise AssertionError(f"no replica of {master.address}")


def _analysis(dcs: SignedClient, svc: Service, body: dict[str, Any]) -> dict[str, Any]:
    created = dcs.post(f"{svc.base}/offline/key-analysis", json_body=body)
    assert created.status_code == 200, created.text
    task_id = created.json()["task_id"]
    return svc.wait_for(
        lambda: dcs.get(f"{svc.base}/offline/key-analysis/{task_id}").json(),
        lambda t: t["status"] in ("success", "failed"),
    )


def test_each_shard_is_read_from_its_replica_and_a_masters_id_reads_its_shards_file(
    service: Service, cluster: Cluster
) -> None:
    nodes = _nodes(service)
    record = _finished_backup(service)
    assert record["status"] == "succeed", record
    assert record["progress"] == "100.00"
    held = {n["shard"]: n for n in record["nodes"]}
    assert set(held) == set(cluster.addresses)
    for master in cluster.masters:
        replica = _replica_of(cluster, master)
        node = held[master.address]
        assert f"{node['node_ip']}:{node['node_port']}" == replica.address
        assert node["node_id"] == nodes[replica.address]["node_id"]
    files = sorted(p.name for p in service.backups_path.rglob("*") if p.is_file())
    assert files == [f"{record['backup_id']}.{i}.rdb" for i in range(3)]
    assert record["size"] == sum(n["size"] for n in record["nodes"])

    for master in cluster.masters:
        body = {"node_id": nodes[master.address]["node_id"], "backup_id": record["backup_id"]}
        report = _analysis(service.dcs, service, body)
        assert report["status"] == "success", report
        assert report["total_num"] == master.client().dbsize()
        keys = {k["key"] for k in report["largest_keys"]}
        assert keys == {k.decode() for k in master.client().scan_iter(count=100)}


def test_a_failed_shard_fails_the_backup_naming_it_and_no_file_is_left(
    service: Service, cluster: Cluster
) -> None:
    master = cluster.masters[1]
    refusing = _replica_of(cluster, master).client()
    everything = {"enabled": True, "nopass": True, "keys": ["*"], "channels": ["*"]}
    refusing.acl_setuser("default", commands=["+@all", "-sync", "-psync"], **everything)
    try:
        record = _finished_backup(service)
    finally:
        refusing.acl_setuser("default", commands=["+@all"], **everything)
    assert (record["status"], record["error_code"]) == ("failed", "dcs.08.0001")
    assert record["reason"].startswith(f"shard {master.address} (")
    by_shard = {n["shard"]: n for n in record["nodes"]}
    assert by_shard[master.address]["reason"] == record["reason"]
    for other in set(cluster.addresses) - {master.address}:
        assert by_shard[other]["reason"].startswith(f"not kept: shard {master.address} (")
    assert all(n["status"] == "failed" and n["size"] == 0 for n in record["nodes"])
    assert [p for p in service.backups_path.rglob("*") if p.is_file()] == []

    analysis = service.dcs.post(
        f"{service.base}/offline/key-analysis",
        json_body={"node_id": _nodes(service)[master.address]["node_id"],
                   "backup_id": record["backup_id"]},
    )  # fmt: skip
    assert is_dcs_error(analysis, 400, "DCS.4002")


def test_a_backup_of_one_node_does_not_hold_another_shard(
    service: Service, cluster: Cluster
) -> None:
    nodes = _nodes(service)
    first, second = cluster.masters[0], cluster.masters[1]
    record = _finished_backup(service, {"node_id": nodes[first.address]["node_id"]})
    assert record["status"] == "succeed", record
    assert [n["shard"] for n in record["nodes"]] == [first.address]

    refused = service.dcs.post(
        f"{service.base}/offline/key-analysis",
        json_body={"node_id": nodes[second.address]["node_id"], "backup_id": record["backup_id"]},
    )
    assert is_dcs_error(refused, 400, "DCS.4963")
    assert nodes[first.address]["node_id"] in refused.json()["error_msg"]


def test_a_whole_cluster_backup_restores_every_shards_keys(
    service: Service, cluster: Cluster, tmp_path: Path
) -> None:
    record = _finished_backup(service)
    assert record["status"] == "succeed", record
    target = start_server(tmp_path / "target")
    try:
        body = {"name": "t", "mode": "single", "addresses": [target.address]}
        target_id = service.dcs.post("/instances", json_body=body).json()["instance_id"]
        base = f"/instances/{target_id}"
        created = service.dcs.post(f"{base}/restores", json_body={"backup_id": record["backup_id"]})
        assert created.status_code == 200, created.text
        restore_id = created.json()["restore_id"]
        restored = service.wait_for(
            lambda: next(r for r in service.dcs.get(f"{base}/restores").json()[
                "restore_record_response"] if r["restore_id"] == restore_id),
            lambda r: r["status"] in ("succeed", "failed"),
        )  # fmt: skip
        assert restored["status"] == "succeed", restored
        expected = {
            k: m.client().get(k) for m in cluster.masters for k in m.client().scan_iter(count=100)
        }
        t = target.client()
        assert {k: t.get(k) for k in t.scan_iter(count=100)} == expected
        assert restored["restored_keys"] == len(expected) == 60
    finally:
        target.stop()


def test_a_cluster_wide_report_over_every_shard_is_the_sum_of_the_shards_reports(
    service: Service, cluster: Cluster
) -> None:
    nodes = _nodes(service)
    record = _finished_backup(service)
    assert record["status"] == "succeed", record
    per_shard = [
        _analysis(service.dcs, service,
                  {"node_id": nodes[m.address]["node_id"], "backup_id": record["backup_id"]})
        for m in cluster.masters
    ]  # fmt: skip
    merged = _analysis(service.dcs, service, {"node_id": "all", "backup_id": record["backup_id"]})
    assert merged["status"] == "success", merged
    assert merged["node_id"] == "all"
    assert merged["total_num"] == sum(r["total_num"] for r in per_shard) == 60
    assert merged["total_bytes"] == sum(r["total_bytes"] for r in per_shard)
    for kind in ("type_num", "type_bytes"):
        field = "num" if kind == "type_num" else "bytes"
        summed: dict[str, int] = {}
        for r in per_shard:
            for t in r[kind]:
                summed[t["type"]] = summed.get(t["type"], 0) + t[field]
        assert {t["type"]: t[field] for t in merged[kind]} == summed
    assert len(merged["shards"]) == 3
    assert sum(s["num"] for s in merged["shards"]) == 60
    shard_of = {k["key"]: k["shard"] for k in merged["largest_keys"]}
    assert len(shard_of) == 60
    for label in set(shard_of.values()):
        own = {k for k, s in shard_of.items() if s == label}
        assert own in [{k["key"] for k in r["largest_keys"]} for r in per_shard]
    prefix = next(p for p in merged["largest_key_prefixes"] if p["key_prefix"] == "key")
    assert prefix["num"] == 60


def test_node_id_all_needs_a_backup_and_says_so(service: Service) -> None:
    refused = service.dcs.post(f"{service.base}/offline/key-analysis", json_body={"node_id": "all"})
    assert is_dcs_error(refused, 400, "DCS.4002")
    assert "backup_id" in refused.json()["error_msg"]
