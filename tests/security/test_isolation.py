"""One project's credential never reads or writes another project's resources, on any route.

The owner (project A) registers an instance and creates one resource of every kind: big-key,
hot-key and expire tasks, a backup, an offline analysis. A second credential that owns only
project B then calls every operation of the route table twice: with A's project id in the
path (403: not its project) and with its own project id but A's resource ids (404: not
visible). Afterwards everything of A's is still there, unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.security.conftest import register
from tests.security.routes import OPERATIONS, Operation
from tests.utils.dcs import (
    OTHER_AK,
    OTHER_PROJECT,
    OTHER_SK,
    PROJECT,
    SignedClient,
    is_dcs_error,
)
from tests.utils.servers import start_server
from tests.utils.service import running_app

pytestmark = pytest.mark.integration

RDB = b"REDIS0009\xff" + b"\x00" * 8
"""A minimal RDB file: header and end-of-file marker (the upload checks the magic only)."""

VALID_BODIES: dict[str, object] = {
    "CreateInstance": {"name": "x", "mode": "single", "addresses": ["127.0.0.1:1"]},
    "UpdateBigkeyAutoscanConfig": {"enable_auto_scan": True, "schedule_at": ["01:00"]},
    "UpdateHotkeyAutoScanConfig": {"enable_auto_scan": True, "schedule_at": ["01:00"]},
    "UpdateExpireAutoScanConfig": {"interval": 60, "timeout": 120},
    "ListBackupFileLinks": {"expiration": 300},
}


@dataclass
class World:
    owner: SignedClient
    intruder: SignedClient
    ids: dict[str, str]

    def body_for(self, op: Operation) -> object:
        if op.operation_id == "CreateOfflineKeyAnalysis":
            return {"node_id": self.ids["node_id"], "backup_id": self.ids["backup_id"]}
        return VALID_BODIES.get(op.operation_id)


def _ok(response: object) -> dict[str, str]:
    assert getattr(response, "status_code", None) == 200, getattr(response, "text", response)
    body: dict[str, str] = response.json()  # type: ignore[attr-defined]
    return body


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("isolation")
    redis = start_server(root / "redis", extra=["--maxmemory-policy", "allkeys-lfu"])
    try:
        redis.client().mset({f"k:{i}": "v" for i in range(100)})
        with running_app(root) as (_app, owner):
            instance = register(owner, redis)
            base = f"/instances/{instance}"
            ids = {"instance_id": instance}
            ids["bigkey_id"] = _ok(owner.post(f"{base}/bigkey-task"))["id"]
            ids["hotkey_id"] = _ok(owner.post(f"{base}/hotkey-task"))["id"]
            ids["expire_id"] = _ok(owner.post(f"{base}/scan-expire-keys-task"))["id"]
            ids["backup_id"] = _ok(owner.upload(f"{base}/backups/upload", RDB))["backup_id"]
            groups = _ok(owner.get(f"/instance/{instance}/groups"))
            ids["group_id"] = groups["group_list"][0]["group_id"]  # type: ignore[index]
            ids["node_id"] = groups["group_list"][0]["replication_list"][0]["node_id"]  # type: ignore[index]
            offline = owner.post(
                f"{base}/offline/key-analysis",
                json_body={"node_id": ids["node_id"], "backup_id": ids["backup_id"]},
            )
            ids["offline_id"] = _ok(offline)["task_id"]
            intruder = SignedClient(owner.http, ak=OTHER_AK, sk=OTHER_SK, project=OTHER_PROJECT)
            yield World(owner, intruder, ids)
    finally:
        redis.stop()


def path_ids(world: World, op: Operation, project: str) -> dict[str, str]:
    """The owner's id for every path parameter of ``op``."""
    task_id = world.ids["offline_id"] if "/offline/" in op.path else world.ids["hotkey_id"]
    return {
        "project_id": project,
        "instance_id": world.ids["instance_id"],
        "bigkey_id": world.ids["bigkey_id"],
        "hotkey_id": world.ids["hotkey_id"],
        "task_id": task_id,
        "backup_id": world.ids["backup_id"],
        "group_id": world.ids["group_id"],
    }


def call(client: SignedClient, world: World, op: Operation, project: str) -> object:
    body = world.body_for(op)
    path = op.url(path_ids(world, op, project))
    if op.operation_id == "UploadBackupFile":
        return client.upload("", RDB, raw_path=path)
    return client.request(op.method, "", raw_path=path, json_body=body)


SIGNED = [op for op in OPERATIONS if op.signed]
SCOPED = [op for op in SIGNED if "instance_id" in op.path_params]


@pytest.mark.parametrize("op", SIGNED, ids=str)
def test_another_projects_path_is_403(world: World, op: Operation) -> None:
    response = call(world.intruder, world, op, PROJECT)
    assert is_dcs_error(response, 403), response.text  # type: ignore[arg-type,attr-defined]


@pytest.mark.parametrize("op", SCOPED, ids=str)
def test_another_projects_ids_under_ones_own_project_are_404(world: World, op: Operation) -> None:
    response = call(world.intruder, world, op, OTHER_PROJECT)
    assert is_dcs_error(response, 404), response.text  # type: ignore[arg-type,attr-defined]


def test_listings_of_ones_own_project_show_nothing_of_another(world: World) -> None:
    assert _ok(world.intruder.get("/instances"))["count"] == 0
    assert _ok(world.intruder.get("/instances-logical-nodes"))["count"] == 0


def test_a_download_link_works_only_under_its_own_project_and_instance(world: World) -> None:
    owner, ids = world.owner, world.ids
    links = owner.post(
        f"/instances/{ids['instance_id']}/backups/{ids['backup_id']}/links",
        json_body={"expiration": 300},
    )
    link = _ok(links)["links"][0]["link"]  # type: ignore[index]
    assert owner.http.get(link).status_code == 200
    moved = link.replace(f"/v2/{PROJECT}/", f"/v2/{OTHER_PROJECT}/")
    assert is_dcs_error(owner.http.get(moved), 404)


def test_after_the_intruders_calls_the_owners_resources_are_intact(world: World) -> None:
    for op in SIGNED:
        call(world.intruder, world, op, OTHER_PROJECT)
        call(world.intruder, world, op, PROJECT)
    owner, ids = world.owner, world.ids
    base = f"/instances/{ids['instance_id']}"
    deadline = time.monotonic() + 60
    assert _ok(owner.get(base))["instance_id"] == ids["instance_id"]
    for path in (f"{base}/bigkey-task/{ids['bigkey_id']}", f"{base}/hotkey-task/{ids['hotkey_id']}",
                 f"{base}/offline/key-analysis/{ids['offline_id']}"):  # fmt: skip
        while time.monotonic() < deadline:
            if owner.get(path).status_code == 200:
                break
            time.sleep(0.1)
        assert owner.get(path).status_code == 200, path
    backups = _ok(owner.get(f"{base}/backups"))["backup_record_response"]
    assert [b["backup_id"] for b in backups] == [ids["backup_id"]]  # type: ignore[index]
    config = _ok(owner.get(f"{base}/bigkey/autoscan"))
    assert config["enable_auto_scan"] is False
