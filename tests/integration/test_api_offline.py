"""Offline full-key analysis through the DCS API (#19-#22), on fresh and stored backups."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from keyscope.domain.errors import Unsupported
from keyscope.domain.topology import InstanceMode, Topology
from keyscope.tasks.offline import check_supported
from tests.integration._offline_service import Service, running_service
from tests.utils.dcs import is_dcs_error
from tests.utils.rdbgen import write_rdb
from tests.utils.servers import RedisServer
from tests.utils.service import single_topology

pytestmark = pytest.mark.integration

DCS_DETAIL_FIELDS = {
    "id", "instance_id", "node_id", "backup_id", "group_name", "node_ip", "node_type",
    "analysis_type", "started_at", "finished_at", "largest_key_prefixes", "largest_keys",
    "total_bytes", "total_num", "type_bytes", "type_num",
}  # fmt: skip


@pytest.fixture
def service(tmp_path: Path, redis_server: RedisServer) -> Iterator[Service]:
    redis_server.client().config_set("repl-diskless-sync-delay", "0")
    with running_service(tmp_path, redis_server) as svc:
        yield svc


def _node_id(svc: Service) -> str:
    nodes = svc.dcs.get(f"{svc.base}/logical-nodes").json()["nodes"]
    return str(nodes[0]["node_id"])


def _finished(svc: Service, task_id: str) -> dict[str, Any]:
    def fetch() -> dict[str, Any]:
        listing = svc.dcs.get(f"{svc.base}/offline/key-analysis").json()
        return next(r for r in listing["records"] if r["id"] == task_id)

    svc.wait_for(fetch, lambda r: r["status"] in ("success", "failed"))
    detail = svc.dcs.get(f"{svc.base}/offline/key-analysis/{task_id}")
    assert detail.status_code == 200, detail.text
    body: dict[str, Any] = detail.json()
    return body


def _upload(svc: Service, data: bytes) -> str:
    response = svc.dcs.upload(f"{svc.base}/backups/upload", data)
    assert response.status_code == 200, response.text
    return str(response.json()["backup_id"])


def test_analysis_without_backup_takes_a_fresh_one_and_reports_the_keyspace(
    service: Service, redis_server: RedisServer
) -> None:
    c = redis_server.client()
    c.mset({f"user:{i}": "x" * i for i in range(200)})
    c.rpush("queue:jobs", *range(1000))
    c.hset("cfg", mapping={"a": "1"})

    created = service.dcs.post(f"{service.base}/offline/key-analysis",
                               json_body={"node_id": _node_id(service)})  # fmt: skip
    assert created.status_code == 200, created.text
    assert set(created.json()) == {"task_id"}
    detail = _finished(service, created.json()["task_id"])

    assert detail["status"] == "success", detail
    assert set(detail) >= DCS_DETAIL_FIELDS
    assert detail["analysis_type"] == "new_backup"
    assert detail["node_type"] == "master"
    assert detail["total_num"] == 202
    type_num = {t["type"]: t["num"] for t in detail["type_num"]}
    assert type_num == {"string": 200, "list": 1, "hash": 1}
    assert detail["largest_keys"][0]["key"] == "queue:jobs"
    assert detail["largest_keys"][0]["num_of_elem"] == 1000
    assert {"key_prefix": "user", "type": "string", "num": 200}.items() <= next(
        p for p in detail["largest_key_prefixes"] if p["key_prefix"] == "user"
    ).items()
    backups = service.dcs.get(f"{service.base}/backups").json()["backup_record_response"]
    assert [b["backup_id"] for b in backups] == [detail["backup_id"]]


def test_analysis_of_a_stored_backup_reads_that_file(service: Service, tmp_path: Path) -> None:
    stats = write_rdb(tmp_path / "g.rdb", keys=1500, dbs=2)
    backup_id = _upload(service, (tmp_path / "g.rdb").read_bytes())
    created = service.dcs.post(
        f"{service.base}/offline/key-analysis",
        json_body={"node_id": _node_id(service), "backup_id": backup_id},
    )
    assert created.status_code == 200, created.text
    detail = _finished(service, created.json()["task_id"])
    assert detail["status"] == "success", detail
    assert (detail["analysis_type"], detail["backup_id"]) == ("old_backup", backup_id)
    assert detail["total_num"] == stats.keys
    assert {t["type"]: t["num"] for t in detail["type_num"]} == dict(stats.per_type)


def test_corrupt_upload_is_refused_with_the_offset_and_not_kept(
    service: Service, tmp_path: Path
) -> None:
    write_rdb(tmp_path / "g.rdb", keys=500)
    data = (tmp_path / "g.rdb").read_bytes()
    response = service.dcs.upload(f"{service.base}/backups/upload", data[: len(data) // 2])
    assert is_dcs_error(response, 400, "DCS.4990")
    assert "offset" in response.json()["error_msg"]
    assert service.dcs.get(f"{service.base}/backups").json()["total_num"] == 0
    assert list((service.backups_path / service.instance_id).iterdir()) == []


def test_backup_corrupted_on_disk_fails_the_task_with_the_offset(
    service: Service, tmp_path: Path
) -> None:
    write_rdb(tmp_path / "g.rdb", keys=500)
    data = (tmp_path / "g.rdb").read_bytes()
    backup_id = _upload(service, data)
    stored = service.backups_path / service.instance_id / f"{backup_id}.rdb"
    stored.write_bytes(data[: len(data) // 2])
    created = service.dcs.post(
        f"{service.base}/offline/key-analysis",
        json_body={"node_id": _node_id(service), "backup_id": backup_id},
    )
    detail = _finished(service, created.json()["task_id"])
    assert detail["status"] == "failed"
    assert "offset" in detail["reason"]
    assert "largest_keys" not in detail


def test_list_pages_with_total_and_delete_removes_the_record(
    service: Service, tmp_path: Path
) -> None:
    write_rdb(tmp_path / "g.rdb", keys=100)
    backup_id = _upload(service, (tmp_path / "g.rdb").read_bytes())
    body = {"node_id": _node_id(service), "backup_id": backup_id}
    first = service.dcs.post(f"{service.base}/offline/key-analysis", json_body=body).json()
    _finished(service, first["task_id"])
    second = service.dcs.post(f"{service.base}/offline/key-analysis", json_body=body).json()
    _finished(service, second["task_id"])

    listing = service.dcs.get(f"{service.base}/offline/key-analysis", params={"limit": 1}).json()
    assert listing["total"] == 2
    assert len(listing["records"]) == 1
    assert set(listing["records"][0]) == {"id", "status", "created_at", "started_at",
                                          "finished_at"}  # fmt: skip

    deleted = service.dcs.delete(f"{service.base}/offline/key-analysis/{first['task_id']}")
    assert deleted.json() == {"task_id": first["task_id"]}
    gone = service.dcs.get(f"{service.base}/offline/key-analysis/{first['task_id']}")
    assert is_dcs_error(gone, 404)


def test_unknown_node_or_backup_is_not_found(service: Service) -> None:
    unknown_node = service.dcs.post(f"{service.base}/offline/key-analysis",
                                    json_body={"node_id": "f" * 32})  # fmt: skip
    assert is_dcs_error(unknown_node, 404, "DCS.4044")
    unknown_backup = service.dcs.post(
        f"{service.base}/offline/key-analysis",
        json_body={"node_id": _node_id(service), "backup_id": "00000000-0000-0000-0000-0000"},
    )
    assert is_dcs_error(unknown_backup, 404, "DCS.4043")


def test_missing_node_id_is_a_bad_request(service: Service) -> None:
    response = service.dcs.post(f"{service.base}/offline/key-analysis", json_body={})
    assert is_dcs_error(response, 400)


def test_engines_older_than_redis_4_are_refused_with_dcs_4230() -> None:
    old = single_topology()
    old = Topology(InstanceMode.SINGLE, "redis", "3.0.7", old.shards)
    with pytest.raises(Unsupported) as info:
        check_supported(old, None)
    assert info.value.code == "DCS.4230"
    check_supported(single_topology(), None)
