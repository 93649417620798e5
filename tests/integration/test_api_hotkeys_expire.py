"""Hot-key analysis (#7-#13) and expired-key scans (#14-#18) against real redis-servers."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from tests.integration.test_api_bigkeys import register, wait_finished
from tests.utils.dcs import SignedClient, is_dcs_error
from tests.utils.servers import RedisServer
from tests.utils.service import running_app

pytestmark = pytest.mark.integration


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[FastAPI, SignedClient]]:
    with running_app(tmp_path) as running:
        yield running


def test_a_hot_key_analysis_reports_lfu_counters_and_exports_them(
    service: tuple[FastAPI, SignedClient], redis_lfu_server: RedisServer
) -> None:
    _app, client = service
    r = redis_lfu_server.client()
    r.set("user:42", "v")
    r.set("cold", "v")
    pipe = r.pipeline(transaction=False)
    for _ in range(2000):  # well above the hot-key floor (counter 10, ~100 accesses)
        pipe.get("user:42")
    pipe.execute()
    instance_id = register(client, redis_lfu_server)

    created = client.post(f"/instances/{instance_id}/hotkey-task")
    assert created.status_code == 200, created.text
    task = created.json()
    assert set(task) == {"id", "instance_id", "status", "scan_type", "created_at", "num"}
    done = wait_finished(client, f"/instances/{instance_id}/hotkey-task/{task['id']}")
    assert done["status"] == "success", done
    assert [k["name"] for k in done["keys"]] == ["user:42"] and done["num"] == 1  # not "cold"
    assert done["keys"][0]["freq"] >= 10
    assert done["keys"][0]["unit"] == "byte"

    listed = client.get(f"/instances/{instance_id}/hotkey-tasks").json()
    assert listed["count"] == 1

    exported = client.post(f"/instances/{instance_id}/hotkey/{task['id']}/export")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert "user:42" in {row["name"] for row in rows}

    as_json = client.post(
        f"/instances/{instance_id}/hotkey/{task['id']}/export", params={"format": "json"}
    )
    assert "user:42" in {k["name"] for k in as_json.json()["keys"]}

    deleted = client.delete(f"/instances/{instance_id}/hotkey-task/{task['id']}")
    assert deleted.status_code == 200
    missing = client.post(f"/instances/{instance_id}/hotkey/{task['id']}/export")
    assert is_dcs_error(missing, 404, "DCS.4042")


def test_a_hot_key_analysis_without_an_lfu_policy_is_refused_with_dcs_4922(
    service: tuple[FastAPI, SignedClient], redis_server: RedisServer
) -> None:
    _app, client = service
    instance_id = register(client, redis_server)
    refused = client.post(f"/instances/{instance_id}/hotkey-task")
    assert is_dcs_error(refused, 400, "DCS.4922")
    assert refused.json()["error_msg"].startswith("Does not support hotkey analyze.")
    assert client.get(f"/instances/{instance_id}/hotkey-tasks").json()["count"] == 0


def test_the_hot_key_auto_scan_configuration_round_trips(
    service: tuple[FastAPI, SignedClient], redis_lfu_server: RedisServer
) -> None:
    _app, client = service
    instance_id = register(client, redis_lfu_server)
    path = f"/instances/{instance_id}/hotkey/autoscan"
    body = {"enable_auto_scan": True, "schedule_at": ["21:00"]}
    assert client.put(path, json_body=body).json()["schedule_at"] == ["21:00"]
    assert client.get(path).json()["enable_auto_scan"] is True


def _histories(client: SignedClient, instance_id: str) -> dict[str, Any]:
    body: dict[str, Any] = client.get(f"/instances/{instance_id}/auto-expire/histories").json()
    return body


def _wait_history(client: SignedClient, instance_id: str, task_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for record in _histories(client, instance_id)["records"]:
            if record["id"] == task_id and record["status"] in ("success", "failed"):
                return dict(record)
        time.sleep(0.05)
    raise AssertionError("the expire scan did not finish")


def test_an_expired_key_scan_reclaims_expired_keys_and_lists_them_in_the_history(
    service: tuple[FastAPI, SignedClient], redis_server: RedisServer
) -> None:
    _app, client = service
    r = redis_server.client()
    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    for i in range(20):
        r.set(f"gone:{i}", "v", px=1)
    r.set("stays", "v")
    time.sleep(0.05)  # let the 1 ms TTLs pass; only a SCAN can now reclaim them
    instance_id = register(client, redis_server)

    created = client.post(f"/instances/{instance_id}/scan-expire-keys-task")
    assert created.status_code == 200, created.text
    scan = created.json()
    assert set(scan) == {"id", "instance_id", "status", "scan_type", "created_at"}
    record = _wait_history(client, instance_id, scan["id"])
    assert record["status"] == "success", record
    assert record["num"] == 20
    assert record["scanned_keys"] == 1
    assert [(n["node"], n["expired_keys"], n["scanned_keys"]) for n in record["nodes"]] == [
        (redis_server.address, 20, 1)
    ]
    assert r.dbsize() == 1

    again = client.post(f"/instances/{instance_id}/auto-expire/scan")
    assert again.status_code == 200, again.text
    _wait_history(client, instance_id, again.json()["id"])
    history = _histories(client, instance_id)
    assert (history["total"], history["count"], len(history["records"])) == (2, 2, 2)
    assert {rec["scan_type"] for rec in history["records"]} == {"manual"}


def test_the_expire_auto_scan_configuration_follows_the_dcs_rules(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    with running_app(tmp_path) as (_app, client):
        instance_id = register(client, redis_server)
        path = f"/instances/{instance_id}/scan-expire-keys/autoscan-config"
        default = client.get(path).json()
        assert default["enable_auto_scan"] is False
        no_start = client.put(path, json_body={"enable_auto_scan": True})
        assert is_dcs_error(no_start, 400, "DCS.4002")
        assert "first_scan_at" in no_start.json()["error_msg"]
        body = {
            "enable_auto_scan": True,
            "first_scan_at": "2023-07-07T15:00:05.000",
            "interval": 86400,
            "timeout": 172800,
            "scan_keys_count": 10,
        }
        updated = client.put(path, json_body=body)
        assert updated.status_code == 200, updated.text
        shown = updated.json()
        assert shown["first_scan_at"] == "2023-07-07T15:00:05.000"
        assert (shown["interval"], shown["timeout"], shown["scan_keys_count"]) == (
            86400,
            172800,
            10,
        )
        too_short = client.put(path, json_body={"timeout": 3600})
        assert is_dcs_error(too_short, 400, "DCS.4002")
        assert "twice the interval" in too_short.json()["error_msg"]
        malformed = client.put(path, json_body={"first_scan_at": "tomorrow"})
        assert is_dcs_error(malformed, 400, "DCS.4002")
        negative = client.put(path, json_body={"interval": 0})
        assert is_dcs_error(negative, 400, "DCS.4002")
    with running_app(tmp_path) as (_app, client):
        kept = client.get(path).json()
        assert (kept["enable_auto_scan"], kept["timeout"]) == (True, 172800)
