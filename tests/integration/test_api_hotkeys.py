"""Hot keys through the DCS API: the server's own HOTKEYS, honest schedules, the extensions.

On the HOTKEYS engine with an LRU policy the analysis is not refused; the planted keys come
back with their shares, and tracking is off afterwards, also after a delete mid-window. An
auto scan that could only fail is refused when it is configured, and one that finds the
policy changed leaves a failed record saying why.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI

from tests.integration.test_api_bigkeys import register, wait_finished
from tests.integration.test_api_schedules import MovableClock
from tests.utils.dcs import SignedClient, is_dcs_error
from tests.utils.hotkeys_engine import tracking_active, tracking_left, wait_until
from tests.utils.servers import RedisServer
from tests.utils.service import running_app
from tests.utils.traffic import plant

pytestmark = pytest.mark.integration


@pytest.fixture
def service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[FastAPI, SignedClient]]:
    monkeypatch.setenv("KEYSCOPE_HOTKEYS_WINDOW_S", "4")
    with running_app(tmp_path) as running:
        yield running


def test_the_hotkeys_engine_without_lfu_is_analysed_and_left_with_no_tracking(
    service: tuple[FastAPI, SignedClient], hotkeys_lru_server: RedisServer
) -> None:
    _app, client = service
    redis = hotkeys_lru_server.client()
    instance_id = register(client, hotkeys_lru_server)

    created = client.post(f"/instances/{instance_id}/hotkey-task")
    assert created.status_code == 200, created.text
    task_id = created.json()["id"]
    wait_until(lambda: tracking_active(redis), "tracking")
    planted = plant(lambda _: redis, lambda _: redis)
    done = wait_finished(client, f"/instances/{instance_id}/hotkey-task/{task_id}")

    assert done["status"] == "success", done
    assert [k["name"] for k in done["keys"]] == planted and done["num"] == len(planted)
    for key in done["keys"]:
        assert "freq" not in key  # no LFU policy: no counter to report
        assert key["node"] == hotkeys_lru_server.address
        assert key["net_share"] >= 0.01 and key["cpu_share"] > 0
    assert done["measured"] == {
        "window_s": 4, "min_share": 0.01, "tracked_nodes": [hotkeys_lru_server.address],
    }  # fmt: skip
    assert tracking_left(redis) is None

    exported = client.post(f"/instances/{instance_id}/hotkey/{task_id}/export")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["name"] for r in rows] == planted
    assert {r["node"] for r in rows} == {hotkeys_lru_server.address}
    assert all(float(r["net_share"]) >= 0.01 and r["freq"] == "" for r in rows)


def test_a_task_deleted_mid_window_leaves_no_tracking_on_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hotkeys_lru_server: RedisServer
) -> None:
    monkeypatch.setenv("KEYSCOPE_HOTKEYS_WINDOW_S", "30")
    redis = hotkeys_lru_server.client()
    with running_app(tmp_path) as (_app, client):
        instance_id = register(client, hotkeys_lru_server)
        task_id = client.post(f"/instances/{instance_id}/hotkey-task").json()["id"]
        wait_until(lambda: tracking_active(redis), "tracking")

        deleted = client.delete(f"/instances/{instance_id}/hotkey-task/{task_id}")

        assert deleted.status_code == 200
        wait_until(lambda: tracking_left(redis) is None, "the reset", timeout=10)
        assert not tracking_active(redis)


def test_a_hot_key_schedule_on_an_instance_that_cannot_be_analysed_is_refused_with_dcs_4922(
    service: tuple[FastAPI, SignedClient], redis_server: RedisServer
) -> None:
    _app, client = service
    instance_id = register(client, redis_server)
    path = f"/instances/{instance_id}/hotkey/autoscan"

    refused = client.put(path, json_body={"enable_auto_scan": True, "schedule_at": ["21:00"]})
    off = client.put(path, json_body={"enable_auto_scan": False, "schedule_at": ["21:00"]})

    assert is_dcs_error(refused, 400, "DCS.4922")
    assert "noeviction" in refused.json()["error_msg"]
    assert off.status_code == 200 and off.json()["enable_auto_scan"] is False
    assert client.get(path).json()["enable_auto_scan"] is False


def test_a_scheduled_run_that_finds_the_policy_changed_leaves_a_failed_record(
    tmp_path: Path, redis_lfu_server: RedisServer
) -> None:
    start = datetime.now(UTC).replace(second=0, microsecond=0)
    clock = MovableClock(start)
    with running_app(tmp_path, clock=clock) as (app, client):
        instance_id = register(client, redis_lfu_server)
        due = start + timedelta(minutes=2)
        body = {"enable_auto_scan": True, "schedule_at": [due.strftime("%H:%M")]}
        assert client.put(f"/instances/{instance_id}/hotkey/autoscan", json_body=body).is_success
        redis_lfu_server.client().config_set("maxmemory-policy", "noeviction")
        clock.now = due + timedelta(seconds=5)

        (task_id,) = app.state.scheduler.tick()

        listed = client.get(f"/instances/{instance_id}/hotkey-tasks").json()
        assert [(r["id"], r["status"], r["scan_type"]) for r in listed["records"]] == [
            (task_id, "failed", "auto")
        ]
        shown = client.get(f"/instances/{instance_id}/hotkey-task/{task_id}").json()
        assert "noeviction" in shown["reason"] and shown["num"] == 0


def test_an_lfu_analysis_reports_no_cold_keys_and_the_measured_floor(
    service: tuple[FastAPI, SignedClient], redis_lfu_server: RedisServer
) -> None:
    _app, client = service
    redis = redis_lfu_server.client()
    planted = plant(lambda _: redis, lambda _: redis)
    instance_id = register(client, redis_lfu_server)

    task_id = client.post(f"/instances/{instance_id}/hotkey-task").json()["id"]
    done = wait_finished(client, f"/instances/{instance_id}/hotkey-task/{task_id}")

    assert [k["name"] for k in done["keys"]] == planted and done["num"] == 3
    assert all(k["freq"] >= 10 and k["node"] == redis_lfu_server.address for k in done["keys"])
    assert all("cpu_share" not in k and "shard" not in k for k in done["keys"])
    assert done["measured"] == {
        "min_accesses": 100,
        "lfu": [{"node": redis_lfu_server.address, "lfu_log_factor": 10, "lfu_decay_time": 1,
                 "min_freq": 10, "from_server": True}],
    }  # fmt: skip
