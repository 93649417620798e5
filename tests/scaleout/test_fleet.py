"""Two API processes and two workers on one PostgreSQL run analyses of every kind.

Every analysis succeeds, no two analyses of one kind ever ran at once on one instance, both
workers took work, the results equal the embedded mode's for the same data, auto scans fire
once per due time, and ``keyscope worker --check`` reports the fleet.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from keyscope.store.db import sqlalchemy_url
from tests.scaleout.data import seed_expired, start_seeded
from tests.scaleout.fleet import KEYSCOPE, Fleet, wait_task
from tests.utils.dcs import SignedClient
from tests.utils.servers import RedisServer
from tests.utils.service import running_app

pytestmark = [pytest.mark.scaleout, pytest.mark.slow]

KINDS = ("bigkey", "hotkey", "expire", "offline")

VOLATILE = {"id", "instance_id", "backup_id", "created_at", "started_at", "finished_at",
            "node_id", "node_ip"}  # fmt: skip
"""Fields that name the run or the server rather than what the analysis found."""


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[RedisServer]]:
    root = tmp_path_factory.mktemp("redis")
    started = [start_seeded(root / f"r{i}", i) for i in range(4)]
    yield started
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Iterator[Fleet]:
    fleet = Fleet(tmp_path_factory.mktemp("fleet"), database_url)
    try:
        fleet.start_api()
        fleet.start_api()
        fleet.start_worker()
        fleet.start_worker()
        yield fleet
    finally:
        fleet.stop()


def register(client: SignedClient, server: RedisServer) -> str:
    body = {"name": f"r{server.port}", "mode": "single", "addresses": [server.address]}
    response = client.post("/instances", json_body=body)
    assert response.status_code == 200, response.text
    return str(response.json()["instance_id"])


def node_id(client: SignedClient, instance_id: str) -> str:
    nodes = client.get(f"/instances/{instance_id}/logical-nodes").json()["nodes"]
    return str(nodes[0]["node_id"])


def start(client: SignedClient, instance_id: str, kind: str) -> str:
    """Create one analysis; its id."""
    base = f"/instances/{instance_id}"
    if kind == "offline":
        body = {"node_id": node_id(client, instance_id)}
        response = client.post(f"{base}/offline/key-analysis", json_body=body)
        assert response.status_code == 200, response.text
        return str(response.json()["task_id"])
    path = {"bigkey": "bigkey-task", "hotkey": "hotkey-task", "expire": "auto-expire/scan"}
    response = client.post(f"{base}/{path[kind]}")
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def finished(client: SignedClient, instance_id: str, kind: str, task_id: str) -> dict[str, Any]:
    """Wait for the analysis to end; its record (the detail, or the history row for expire)."""
    base = f"/instances/{instance_id}"
    if kind == "expire":
        deadline = time.monotonic() + 120
        while True:
            history = client.get(f"{base}/auto-expire/histories").json()["records"]
            record = next(r for r in history if r["id"] == task_id)
            if record["status"] in ("success", "failed"):
                return dict(record)
            assert time.monotonic() < deadline, record
            time.sleep(0.1)
    path = {"bigkey": "bigkey-task", "hotkey": "hotkey-task", "offline": "offline/key-analysis"}
    return wait_task(client, f"{base}/{path[kind]}/{task_id}")


def comparable(record: dict[str, Any]) -> dict[str, Any]:
    """The record without run-specific fields, lists in one order.

    The order of keys tied on size follows the order the RDB lists them in, which is each
    server's own hash-table order, so lists are compared as sorted.
    """

    def canonical(value: Any) -> Any:
        if isinstance(value, list):
            return sorted((canonical(v) for v in value), key=repr)
        if isinstance(value, dict):
            # a hot key's ``node`` (and the floor's) is the twin's own address; a node's
            # ``seconds`` (the expired-key scan's per-node time) is the run's own
            return {
                k: "<node>" if k == "node" else canonical(v)
                for k, v in value.items()
                if k != "seconds"
            }
        return value

    return {k: canonical(v) for k, v in record.items() if k not in VOLATILE}


def test_forty_analyses_of_four_kinds_on_four_instances_all_succeed_one_at_a_time_per_kind(
    fleet: Fleet, servers: list[RedisServer]
) -> None:
    instances = [register(fleet.client(i), server) for i, server in enumerate(servers)]
    outcomes: list[dict[str, Any]] = []
    made = 0
    while made < 40:
        batch: list[tuple[int, str, str, str]] = []
        for i, instance_id in enumerate(instances):
            for kind in KINDS:
                if made + len(batch) < 40:
                    client = fleet.client(len(batch))  # alternate the API processes
                    batch.append((i, instance_id, kind, start(client, instance_id, kind)))
        for i, instance_id, kind, task_id in batch:
            outcomes.append(finished(fleet.client(i + 1), instance_id, kind, task_id))
        made += len(batch)

    assert len(outcomes) == 40
    assert [o for o in outcomes if o["status"] != "success"] == []
    engine = create_engine(sqlalchemy_url(fleet.database_url))
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT instance_id, kind, started_at, finished_at FROM tasks"
                    " ORDER BY instance_id, kind, started_at"
                )
            ).all()
    finally:
        engine.dispose()
    assert len(rows) == 40
    for before, after in itertools.pairwise(rows):
        if (before.instance_id, before.kind) == (after.instance_id, after.kind):
            assert after.started_at >= before.finished_at, (before, after)
    for worker in fleet.workers:
        assert "Starting job keyscope.run_analysis" in worker.log.read_text(), fleet.logs()


def test_results_equal_the_embedded_modes_for_the_same_data(fleet: Fleet, tmp_path: Path) -> None:
    # Twin servers given the same commands: hot-key probes count as accesses, so one server
    # analysed twice would not read the same LFU counters the second time.
    twins = [start_seeded(tmp_path / f"twin{i}", 7, plain=60) for i in range(2)]
    try:
        client = fleet.client(0)
        fleet_id = register(client, twins[1])
        with running_app(tmp_path / "embedded") as (_app, embedded):
            embedded_id = register(embedded, twins[0])
            for kind in KINDS:
                if kind == "expire":
                    for twin in twins:
                        seed_expired(twin, 25)
                local = finished(embedded, embedded_id, kind, start(embedded, embedded_id, kind))
                scaled = finished(client, fleet_id, kind, start(client, fleet_id, kind))
                assert local["status"] == scaled["status"] == "success", (local, scaled)
                assert comparable(scaled) == comparable(local), kind
                assert scaled.get("num", scaled.get("total_num")), scaled
    finally:
        for twin in twins:
            twin.stop()


def test_an_auto_scan_fires_once_per_due_time_with_two_workers(
    fleet: Fleet, tmp_path: Path
) -> None:
    server = start_seeded(tmp_path / "auto", 8)
    try:
        client = fleet.client(1)
        instance_id = register(client, server)
        due = datetime.now(UTC) + timedelta(seconds=2)
        config = {"enable_auto_scan": True, "interval": 3600, "timeout": 7200,
                  "first_scan_at": due.strftime("%Y-%m-%dT%H:%M:%S.000")}  # fmt: skip
        put = client.put(
            f"/instances/{instance_id}/scan-expire-keys/autoscan-config", json_body=config
        )
        assert put.status_code == 200, put.text
        path = f"/instances/{instance_id}/auto-expire/histories"
        deadline = time.monotonic() + 60
        auto: list[dict[str, Any]] = []
        while not auto:
            assert time.monotonic() < deadline, "the auto scan did not fire"
            auto = [r for r in client.get(path).json()["records"] if r["scan_type"] == "auto"]
            time.sleep(0.2)
        time.sleep(12)  # more scheduler rounds on both workers: none may fire it again
        auto = [r for r in client.get(path).json()["records"] if r["scan_type"] == "auto"]
        assert len(auto) == 1, auto
    finally:
        server.stop()


def test_worker_check_reports_a_healthy_fleet_with_its_live_workers(fleet: Fleet) -> None:
    done = subprocess.run(
        [KEYSCOPE, "worker", "--check", "--format", "json"], env=fleet.env,
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    health = json.loads(done.stdout)
    assert (health["healthy"], health["live_workers"]) == (True, 2)
    assert fleet.database_url.rpartition("@")[0] not in done.stdout + done.stderr
