"""Auto scans configured through the API fire on the scheduler's clock and run for real."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.integration.test_api_bigkeys import register, wait_finished
from tests.utils.servers import RedisServer
from tests.utils.service import running_app

pytestmark = pytest.mark.integration


class MovableClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_a_daily_big_key_schedule_creates_an_auto_analysis_at_its_time(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    redis_server.client().set("blob", b"x" * 20_000)
    start = datetime.now(UTC).replace(second=0, microsecond=0)
    clock = MovableClock(start)
    with running_app(tmp_path, clock=clock) as (app, client):
        instance_id = register(client, redis_server)
        due = start + timedelta(minutes=2)
        body = {"enable_auto_scan": True, "schedule_at": [due.strftime("%H:%M")]}
        assert client.put(f"/instances/{instance_id}/bigkey/autoscan", json_body=body).is_success
        scheduler = app.state.scheduler
        clock.now = due - timedelta(seconds=1)
        assert scheduler.tick() == []
        clock.now = due + timedelta(seconds=5)
        (task_id,) = scheduler.tick()
        assert scheduler.tick() == []
        done = wait_finished(client, f"/instances/{instance_id}/bigkey-task/{task_id}")
        assert (done["status"], done["scan_type"]) == ("success", "auto")
        assert [k["name"] for k in done["keys"]] == ["blob"]


def test_a_periodic_expire_scan_fires_as_auto_from_its_first_scan_time(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    start = datetime.now(UTC).replace(second=0, microsecond=0)
    clock = MovableClock(start)
    with running_app(tmp_path, clock=clock) as (app, client):
        instance_id = register(client, redis_server)
        first = start + timedelta(minutes=1)
        body = {
            "enable_auto_scan": True,
            "first_scan_at": first.strftime("%Y-%m-%dT%H:%M:%S"),
            "interval": 60,
            "timeout": 120,
            "scan_keys_count": 100,
        }
        path = f"/instances/{instance_id}/scan-expire-keys/autoscan-config"
        assert client.put(path, json_body=body).is_success
        clock.now = first
        (auto_id,) = app.state.scheduler.tick()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            history = client.get(f"/instances/{instance_id}/auto-expire/histories").json()
            if history["records"][0]["status"] in ("success", "failed"):
                break
            time.sleep(0.05)
        record = history["records"][0]
        assert (record["id"], record["scan_type"], record["status"]) == (auto_id, "auto", "success")
