"""The official DCS SDK backs up a 3-shard cluster whole and analyses each shard's file."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkdcs.v2 import (
    BackupInstanceBody,
    CopyInstanceRequest,
    CreateOfflineKeyAnalysisRequest,
    CreateOfflineKeyAnalysisRequestBody,
    DcsClient,
    ListBackupRecordsRequest,
    ShowNodesInformationRequest,
    ShowOfflineKeyAnalysisTaskRequest,
)

from tests.e2e.test_sdk_service import Serve, keyscope_serve, sdk
from tests.utils.dcs import SignedClient
from tests.utils.dcs import credentials_file as write_credentials
from tests.utils.servers import Cluster, RedisServer

pytestmark = pytest.mark.e2e


@pytest.fixture
def serve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Serve]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    data = tmp_path / "data"
    data.mkdir()
    write_credentials(data / "credentials.json")
    with keyscope_serve(data) as running:
        yield running


def _fill(cluster: Cluster) -> None:
    """Keys of several types on every shard (fewer than the report's top-keys list holds)."""
    rc = cluster.client()
    try:
        rc.flushall()
        for i in range(25):
            rc.set(f"user:{i}", "x" * (10 + i))
            rc.rpush(f"queue:{i}", *range(i + 1))
            if i % 3 == 0:
                rc.hset(f"cart:{i}", mapping={f"item{j}": j for j in range(i + 1)})
    finally:
        rc.close()
    for master in cluster.masters:
        master.client().config_set("repl-diskless-sync-delay", "0")


def _shard_keys(master: RedisServer) -> dict[str, str]:
    """The shard's own keys and their types, read with SCAN on its master."""
    r = master.client()
    return {k.decode(): r.type(k).decode() for k in r.scan_iter(count=100)}


def _wait(fetch: Any, done: Any, timeout: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout
    value = fetch()
    while not done(value) and time.monotonic() < deadline:
        time.sleep(0.2)
        value = fetch()
    return value


def _analyse(client: DcsClient, instance_id: str, node_id: str, backup_id: str) -> Any:
    body = CreateOfflineKeyAnalysisRequestBody(node_id=node_id, backup_id=backup_id)
    created = client.create_offline_key_analysis(
        CreateOfflineKeyAnalysisRequest(instance_id=instance_id, body=body)
    )
    request = ShowOfflineKeyAnalysisTaskRequest(instance_id=instance_id, task_id=created.task_id)
    return _wait(
        lambda: client.show_offline_key_analysis_task(request),
        lambda t: t.to_json_object()["status"] in ("success", "failed"),  # keyscope's field
    )


def test_a_cluster_backup_holds_every_shard_and_each_report_is_that_shards_keys(
    serve: Serve, redis_cluster: Cluster
) -> None:
    _fill(redis_cluster)
    with httpx.Client(base_url=serve.url, timeout=60) as http:
        body = {"name": "c3", "mode": "cluster", "addresses": [redis_cluster.addresses[0]]}
        registered = SignedClient(http).post("/instances", json_body=body)
    assert registered.status_code == 200, registered.text
    instance_id = registered.json()["instance_id"]
    client = sdk(serve.url)
    nodes = client.show_nodes_information(ShowNodesInformationRequest(instance_id=instance_id))
    masters = {f"{n.node_ip}:{n.node_port}": n.node_id for n in nodes.nodes}
    assert set(masters) == set(redis_cluster.addresses)

    backup_id = client.copy_instance(
        CopyInstanceRequest(instance_id=instance_id, body=BackupInstanceBody(remark="all shards"))
    ).backup_id
    listing = _wait(
        lambda: client.list_backup_records(ListBackupRecordsRequest(instance_id=instance_id)),
        lambda r: r.backup_record_response[0].status in ("succeed", "failed"),
    )
    (record,) = listing.backup_record_response
    assert (record.backup_id, record.status) == (backup_id, "succeed")
    (raw,) = listing.to_json_object()["backup_record_response"]  # keyscope's `nodes` extension
    held = {n["shard"]: n["node_id"] for n in raw["nodes"]}
    assert held == masters
    assert all(n["status"] == "succeed" and n["size"] > 0 for n in raw["nodes"])

    by_address = {m.address: m for m in redis_cluster.masters}
    for shard, node_id in held.items():
        expected = _shard_keys(by_address[shard])
        assert expected, f"shard {shard} holds no key: the test would prove nothing"
        report = _analyse(client, instance_id, node_id, backup_id)
        assert report.to_json_object()["status"] == "success", report
        assert (report.node_id, report.backup_id, report.analysis_type) == (
            node_id, backup_id, "old_backup",
        )  # fmt: skip
        assert report.total_num == len(expected)
        assert {k.key: k.type for k in report.largest_keys} == expected
        assert {t.type: t.num for t in report.type_num if t.num} == dict(Counter(expected.values()))

    wrong = CreateOfflineKeyAnalysisRequestBody(node_id="f" * 40, backup_id=backup_id)
    with pytest.raises(ClientRequestException) as refused:
        client.create_offline_key_analysis(
            CreateOfflineKeyAnalysisRequest(instance_id=instance_id, body=wrong)
        )
    assert (refused.value.status_code, refused.value.error_code) == (400, "DCS.4963")
