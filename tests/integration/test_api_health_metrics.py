"""The operations endpoints: a health probe and Prometheus metrics fed by the task table."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from tests.utils.dcs import SignedClient
from tests.utils.servers import RedisServer
from tests.utils.service import running_app

pytestmark = pytest.mark.integration

_SAMPLE = re.compile(r'^(\w+)\{kind="(\w+)"(?:,status="(\w+)")?\} (\S+)$')


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[FastAPI, SignedClient]]:
    with running_app(tmp_path) as running:
        yield running


def _metrics(client: SignedClient) -> dict[tuple[str, str, str | None], float]:
    response = client.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for line in response.text.splitlines():
        if line.startswith(("#", "keyscope_instance_")):  # per instance: test_metrics_prometheus
            continue
        match = _SAMPLE.match(line)
        assert match, line
        name, kind, status, value = match.groups()
        samples[(name, kind, status)] = float(value)
    return samples


def test_healthz_answers_ok_without_a_signature(service: tuple[FastAPI, SignedClient]) -> None:
    _app, client = service
    response = client.http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "up"}


def test_metrics_count_tasks_by_kind_and_status_and_keys_scanned(
    service: tuple[FastAPI, SignedClient], redis_server: RedisServer
) -> None:
    _app, client = service
    redis_server.client().mset({f"k:{i}": "v" for i in range(500)})
    before = _metrics(client)
    assert before[("keyscope_tasks", "bigkey", "success")] == 0

    body = {"name": "c", "mode": "single", "addresses": [redis_server.address], "password": None}
    instance_id = client.post("/instances", json_body=body).json()["instance_id"]
    task_id = client.post(f"/instances/{instance_id}/bigkey-task").json()["id"]
    deadline = time.monotonic() + 60
    while client.get(f"/instances/{instance_id}/bigkey-task/{task_id}").json()["status"] not in (
        "success",
        "failed",
    ):
        assert time.monotonic() < deadline
        time.sleep(0.05)

    after = _metrics(client)
    assert after[("keyscope_tasks", "bigkey", "success")] == 1
    assert after[("keyscope_analysis_duration_seconds_count", "bigkey", None)] == 1
    assert after[("keyscope_keys_scanned_total", "bigkey", None)] == 500
    assert after[("keyscope_tasks", "hotkey", "success")] == 0


def test_the_operations_endpoints_stay_out_of_the_dcs_openapi_document(
    service: tuple[FastAPI, SignedClient],
) -> None:
    app, _client = service
    paths = app.openapi()["paths"]
    assert "/healthz" not in paths
    assert "/metrics" not in paths
