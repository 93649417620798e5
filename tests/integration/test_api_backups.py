"""Backups through the DCS API: taken over replication, listed, linked, downloaded, deleted."""

from __future__ import annotations

import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from keyscope.tasks.backups import BackupJobs
from tests.integration._offline_service import Service, running_service
from tests.utils.dcs import is_dcs_error
from tests.utils.rdbgen import write_rdb
from tests.utils.servers import RedisServer

pytestmark = pytest.mark.integration


@pytest.fixture
def service(tmp_path: Path, redis_server: RedisServer) -> Iterator[Service]:
    redis_server.client().config_set("repl-diskless-sync-delay", "0")
    with running_service(tmp_path, redis_server) as svc:
        yield svc


def _backup_record(svc: Service, backup_id: str) -> dict[str, Any]:
    def fetch() -> dict[str, Any]:
        listing = svc.dcs.get(f"{svc.base}/backups").json()
        return next(r for r in listing["backup_record_response"] if r["backup_id"] == backup_id)

    return svc.wait_for(fetch, lambda r: r["status"] in ("succeed", "failed"))


def test_backup_is_taken_listed_downloaded_and_deleted(
    service: Service, redis_server: RedisServer
) -> None:
    redis_server.client().mset({f"user:{i}": i for i in range(100)})

    created = service.dcs.post(f"{service.base}/backups", json_body={"remark": "before upgrade"})
    assert created.status_code == 200, created.text
    backup_id = created.json()["backup_id"]
    record = _backup_record(service, backup_id)
    assert record["status"] == "succeed", record
    assert record["remark"] == "before upgrade"
    assert record["size"] > 0
    files = list(service.backups_path.rglob("*.rdb"))
    assert len(files) == 1
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600

    links = service.dcs.post(f"{service.base}/backups/{backup_id}/links",
                             json_body={"expiration": 300})  # fmt: skip
    assert links.status_code == 200, links.text
    (link,) = links.json()["links"]
    download = service.http.get(link["link"])
    assert download.status_code == 200
    assert download.content == files[0].read_bytes()
    assert download.content.startswith(b"REDIS")

    deleted = service.dcs.delete(f"{service.base}/backups/{backup_id}")
    assert deleted.status_code == 204
    assert service.dcs.get(f"{service.base}/backups").json()["total_num"] == 0
    assert not files[0].exists()


def test_backup_without_body_backs_up_the_master(service: Service) -> None:
    created = service.dcs.post(f"{service.base}/backups")
    assert created.status_code == 200, created.text
    assert _backup_record(service, created.json()["backup_id"])["status"] == "succeed"


def test_backup_list_filters_by_time_window_and_pages(service: Service) -> None:
    ids = []
    for _ in range(2):  # one after the other: a node has one backup being taken at a time
        ids.append(service.dcs.post(f"{service.base}/backups").json()["backup_id"])
        _backup_record(service, ids[-1])
    future = service.dcs.get(f"{service.base}/backups", params={"begin_time": "29990101000000"})
    assert future.json()["total_num"] == 0
    page = service.dcs.get(f"{service.base}/backups", params={"limit": 1, "offset": 1}).json()
    assert page["total_num"] == 2
    assert len(page["backup_record_response"]) == 1
    bad = service.dcs.get(f"{service.base}/backups", params={"begin_time": "yesterday"})
    assert is_dcs_error(bad, 400)


def test_tampered_download_link_is_refused(service: Service) -> None:
    backup_id = service.dcs.post(f"{service.base}/backups").json()["backup_id"]
    _backup_record(service, backup_id)
    link = service.dcs.post(f"{service.base}/backups/{backup_id}/links",
                            json_body={"expiration": 300}).json()["links"][0]["link"]  # fmt: skip
    assert is_dcs_error(service.http.get(link[:-4] + "AAAA"), 401)


def test_link_expiration_outside_the_dcs_range_is_refused(service: Service) -> None:
    backup_id = service.dcs.post(f"{service.base}/backups").json()["backup_id"]
    response = service.dcs.post(f"{service.base}/backups/{backup_id}/links",
                                json_body={"expiration": 10})  # fmt: skip
    assert is_dcs_error(response, 400)


def test_uploaded_rdb_file_becomes_a_backup(service: Service, tmp_path: Path) -> None:
    write_rdb(tmp_path / "up.rdb", keys=50)
    data = (tmp_path / "up.rdb").read_bytes()
    response = service.dcs.post(f"{service.base}/backups/upload", content=data)
    assert response.status_code == 200, response.text
    record = _backup_record(service, response.json()["backup_id"])
    assert (record["status"], record["size"]) == ("succeed", len(data))


def test_upload_that_is_not_an_rdb_file_is_refused(service: Service) -> None:
    response = service.dcs.post(f"{service.base}/backups/upload", content=b"not an rdb")
    assert is_dcs_error(response, 400)


def test_unknown_backup_is_not_found(service: Service) -> None:
    response = service.dcs.delete(f"{service.base}/backups/00000000-0000-0000-0000-000000000000")
    assert is_dcs_error(response, 404, "DCS.4043")


def test_deleting_the_instance_removes_its_backup_files(service: Service) -> None:
    created = service.dcs.post(f"{service.base}/backups")
    assert _backup_record(service, created.json()["backup_id"])["status"] == "succeed"
    assert list(service.backups_path.rglob("*.rdb"))

    assert service.dcs.delete(service.base).status_code == 204
    assert list(service.backups_path.rglob("*.rdb")) == []


def _slow_snapshots(server: RedisServer) -> None:
    """The node waits 5 s before it sends a snapshot: a window where backups are unfinished."""
    server.client().config_set("repl-diskless-sync-delay", "5")


def test_a_backup_being_taken_cannot_be_repeated_analysed_or_deleted(
    service: Service, redis_server: RedisServer
) -> None:
    _slow_snapshots(redis_server)
    first = service.dcs.post(f"{service.base}/backups").json()["backup_id"]

    again = service.dcs.post(f"{service.base}/backups")
    assert is_dcs_error(again, 400, "DCS.4961")
    deleted = service.dcs.delete(f"{service.base}/backups/{first}")
    assert is_dcs_error(deleted, 400, "DCS.4961")
    node_id = service.dcs.get(f"{service.base}/logical-nodes").json()["nodes"][0]["node_id"]
    analysis = service.dcs.post(f"{service.base}/offline/key-analysis",
                                json_body={"node_id": node_id, "backup_id": first})  # fmt: skip
    assert is_dcs_error(analysis, 400, "DCS.4961")

    assert _backup_record(service, first)["status"] == "succeed"
    assert service.dcs.delete(f"{service.base}/backups/{first}").status_code == 204
    redis_server.client().config_set("repl-diskless-sync-delay", "0")
    second = service.dcs.post(f"{service.base}/backups")
    assert second.status_code == 200, second.text
    assert _backup_record(service, second.json()["backup_id"])["status"] == "succeed"


def test_deleting_an_instance_stops_its_queued_and_running_backups_and_leaves_no_file(
    service: Service, redis_server: RedisServer
) -> None:
    _slow_snapshots(redis_server)
    body = {"name": "again", "mode": "single", "addresses": [redis_server.address]}
    instances = [service.instance_id]
    for _ in range(2):  # the same server registered twice more: three instances, three jobs
        instances.append(service.dcs.post("/instances", json_body=body).json()["instance_id"])
    taken = {}
    for instance_id in instances:  # two run at once (the backup pool), the third is queued
        created = service.dcs.post(f"/instances/{instance_id}/backups")
        assert created.status_code == 200, created.text
        taken[instance_id] = created.json()["backup_id"]
    kept, *deleted = instances
    for instance_id in deleted:
        assert service.dcs.delete(f"/instances/{instance_id}").status_code == 204

    assert _backup_record(service, taken[kept])["status"] == "succeed"
    deadline = time.monotonic() + 60
    while any(BackupJobs.running(taken[i]) for i in deleted):
        assert time.monotonic() < deadline, "the deleted instances' backup jobs did not end"
        time.sleep(0.1)
    for instance_id in deleted:
        assert not (service.backups_path / instance_id).exists()
    assert [p.parent.name for p in service.backups_path.rglob("*.rdb*")] == [kept]


def test_an_instance_holds_at_most_the_configured_number_of_backups(
    tmp_path: Path, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEYSCOPE_MAX_BACKUPS_PER_INSTANCE", "2")
    redis_server.client().config_set("repl-diskless-sync-delay", "0")
    write_rdb(tmp_path / "up.rdb", keys=5)
    data = (tmp_path / "up.rdb").read_bytes()
    with running_service(tmp_path, redis_server) as svc:
        first = svc.dcs.post(f"{svc.base}/backups/upload", content=data).json()["backup_id"]
        assert _backup_record(svc, svc.dcs.post(f"{svc.base}/backups").json()["backup_id"])
        node_id = svc.dcs.get(f"{svc.base}/logical-nodes").json()["nodes"][0]["node_id"]

        for refused in (
            svc.dcs.post(f"{svc.base}/backups"),
            svc.dcs.post(f"{svc.base}/backups/upload", content=data),
            svc.dcs.post(f"{svc.base}/offline/key-analysis", json_body={"node_id": node_id}),
        ):
            assert is_dcs_error(refused, 400, "DCS.4962")
            assert "holds 2 backups" in refused.json()["error_msg"]
        assert svc.dcs.get(f"{svc.base}/backups").json()["total_num"] == 2

        assert svc.dcs.delete(f"{svc.base}/backups/{first}").status_code == 204
        again = svc.dcs.post(f"{svc.base}/backups/upload", content=data)
        assert again.status_code == 200, again.text
