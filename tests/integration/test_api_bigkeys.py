"""Big-key analysis through the DCS operations #1-#6, against a real redis-server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from keyscope.domain.tasks import ScanType, TaskKind
from keyscope.tasks import lifecycle
from tests.utils.dcs import SignedClient, is_dcs_error
from tests.utils.servers import RedisServer
from tests.utils.service import running_app, session_factory

pytestmark = pytest.mark.integration

CREATED_FIELDS = {"id", "instance_id", "status", "scan_type", "created_at", "num"}
RECORD_FIELDS = {"id", "status", "scan_type", "created_at", "started_at", "finished_at"}


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[FastAPI, SignedClient]]:
    with running_app(tmp_path) as running:
        yield running


def register(client: SignedClient, server: RedisServer) -> str:
    body = {"name": "cache", "mode": "single", "addresses": [server.address], "password": None}
    response = client.post("/instances", json_body=body)
    assert response.status_code == 200, response.text
    return str(response.json()["instance_id"])


def wait_finished(client: SignedClient, path: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body: dict[str, Any] = client.get(path).json()
        if body["status"] in ("success", "failed"):
            return body
        time.sleep(0.05)
    raise AssertionError(f"{path} did not finish")


def test_a_big_key_analysis_runs_and_reports_the_big_keys(
    service: tuple[FastAPI, SignedClient], redis_server: RedisServer
) -> None:
    _app, client = service
    r = redis_server.client()
    r.set("blob", b"x" * 20_000)
    r.rpush("queue", *range(6000))
    r.set("small", "1")
    instance_id = register(client, redis_server)

    created = client.post(f"/instances/{instance_id}/bigkey-task")
    assert created.status_code == 200, created.text
    task = created.json()
    assert set(task) == CREATED_FIELDS
    assert (task["status"], task["scan_type"], task["num"]) == ("waiting", "manual", 0)
    assert task["created_at"].endswith("Z")

    done = wait_finished(client, f"/instances/{instance_id}/bigkey-task/{task['id']}")
    assert done["status"] == "success", done
    keys = {k["name"]: k for k in done["keys"]}
    assert keys["blob"] == {
        "name": "blob",
        "type": "string",
        "db": 0,
        "size": 20_000,
        "unit": "byte",
        "memory_bytes": int(r.memory_usage("blob")),  # keyscope's extension beside DCS size
    }
    assert keys["queue"]["size"] == 6000
    assert keys["queue"]["unit"] == "count"
    assert keys["queue"]["memory_bytes"] == int(r.memory_usage("queue"))
    assert "small" not in keys
    assert done["num"] == 2

    listed = client.get(f"/instances/{instance_id}/bigkey-tasks").json()
    assert listed["instance_id"] == instance_id
    assert listed["count"] == 1
    assert set(listed["records"][0]) == RECORD_FIELDS

    deleted = client.delete(f"/instances/{instance_id}/bigkey-task/{task['id']}")
    assert deleted.status_code == 200
    assert deleted.json()["id"] == task["id"]
    gone = client.get(f"/instances/{instance_id}/bigkey-task/{task['id']}")
    assert is_dcs_error(gone, 404, "DCS.4042")


def test_the_list_pages_and_filters_by_status(
    service: tuple[FastAPI, SignedClient], redis_server: RedisServer
) -> None:
    _app, client = service
    instance_id = register(client, redis_server)
    for _ in range(3):
        task = client.post(f"/instances/{instance_id}/bigkey-task").json()
        wait_finished(client, f"/instances/{instance_id}/bigkey-task/{task['id']}")
    path = f"/instances/{instance_id}/bigkey-tasks"
    page = client.get(path, params={"offset": 1, "limit": 1}).json()
    assert (page["count"], len(page["records"])) == (3, 1)
    assert client.get(path, params={"status": "success"}).json()["count"] == 3
    assert client.get(path, params={"status": "failed"}).json() == {
        "instance_id": instance_id,
        "count": 0,
        "records": [],
    }
    assert is_dcs_error(client.get(path, params={"status": "nope"}), 400, "DCS.4002")
    assert is_dcs_error(client.get(path, params={"limit": -1}), 400, "DCS.4002")


def test_a_second_analysis_while_one_is_active_is_refused(
    service: tuple[FastAPI, SignedClient], redis_server: RedisServer
) -> None:
    app, client = service
    instance_id = register(client, redis_server)
    # A waiting task the runner was never given stands for one that is still running.
    lifecycle.create(
        session_factory(app),
        instance_id=instance_id,
        kind=TaskKind.BIGKEY,
        scan_type=ScanType.AUTO,
        now=app.state.services.clock(),
    )
    refused = client.post(f"/instances/{instance_id}/bigkey-task")
    assert is_dcs_error(refused, 400, "DCS.4960")
    assert instance_id in refused.json()["error_msg"]


def test_the_auto_scan_configuration_is_validated_and_survives_a_restart(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    with running_app(tmp_path) as (_app, client):
        instance_id = register(client, redis_server)
        path = f"/instances/{instance_id}/bigkey/autoscan"
        default = client.get(path).json()
        assert (default["enable_auto_scan"], default["schedule_at"]) == (False, [])
        body = {"enable_auto_scan": True, "schedule_at": ["21:00", "09:30"]}
        updated = client.put(path, json_body=body)
        assert updated.status_code == 200
        assert updated.json()["schedule_at"] == ["21:00", "09:30"]
        bad = client.put(path, json_body={"enable_auto_scan": True, "schedule_at": ["25:00"]})
        assert is_dcs_error(bad, 400, "DCS.4002")
        assert is_dcs_error(client.put(path, json_body={"schedule_at": []}), 400, "DCS.4002")
    with running_app(tmp_path) as (_app, client):
        kept = client.get(path).json()
        assert kept["instance_id"] == instance_id
        assert (kept["enable_auto_scan"], kept["schedule_at"]) == (True, ["21:00", "09:30"])
        assert kept["updated_at"].endswith("Z")


def test_a_task_left_running_by_a_crash_is_failed_at_the_next_start(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    with running_app(tmp_path) as (app, client):
        instance_id = register(client, redis_server)
        factory = session_factory(app)
        task = lifecycle.create(
            factory,
            instance_id=instance_id,
            kind=TaskKind.BIGKEY,
            scan_type=ScanType.MANUAL,
            now=app.state.services.clock(),
        )
        lifecycle.mark_running(factory, task.id, now=app.state.services.clock())
    with running_app(tmp_path) as (_app, client):
        shown = client.get(f"/instances/{instance_id}/bigkey-task/{task.id}").json()
        assert shown["status"] == "failed"
        assert shown["reason"] == lifecycle.RESTARTED_REASON
