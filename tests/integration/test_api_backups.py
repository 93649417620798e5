"""Backups through the DCS API: taken over replication, listed, linked, downloaded, deleted."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

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
