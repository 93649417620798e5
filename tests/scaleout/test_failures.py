"""Workers die, restart and are told to stop; no task is left running or waiting forever.

A worker killed with SIGKILL mid-analysis: its task fails with a reason within the stall
bound (a few seconds here, ``KEYSCOPE_STALL_AFTER_S``), its lock is released, and the other
worker keeps going. Deleting a queued or a running task cancels it. A worker started later
picks up what was queued while none ran.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from keyscope.store.db import sqlalchemy_url
from tests.scaleout.fleet import KEYSCOPE, Fleet, Process, wait_task
from tests.scaleout.test_fleet import register
from tests.utils.dcs import SignedClient
from tests.utils.servers import RedisServer, start_server

pytestmark = [pytest.mark.scaleout, pytest.mark.slow]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Iterator[Fleet]:
    fleet = Fleet(tmp_path_factory.mktemp("fleet"), database_url, stall_after_s=3.0)
    fleet.env["KEYSCOPE_MAX_OPS_PER_SEC"] = "10000"  # the big analysis lasts long enough
    try:
        fleet.start_api()
        fleet.start_worker(concurrency=1)
        fleet.start_worker(concurrency=1)
        yield fleet
    finally:
        fleet.stop()


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = start_server(tmp_path_factory.mktemp("big"))
    server.client().execute_command("DEBUG", "POPULATE", 300_000, "key", 16)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = start_server(tmp_path_factory.mktemp("small"))
    server.client().mset({f"big:{i}": "x" * 20_000 for i in range(3)})
    yield server
    server.stop()


def bigkey(client: SignedClient, instance_id: str) -> str:
    response = client.post(f"/instances/{instance_id}/bigkey-task")
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def path(instance_id: str, task_id: str) -> str:
    return f"/instances/{instance_id}/bigkey-task/{task_id}"


def runner_of(fleet: Fleet, task_id: str) -> Process:
    """The worker whose log shows it started the task's job."""
    deadline = time.monotonic() + 30
    while True:
        for worker in fleet.workers:
            if worker.alive() and task_id in worker.log.read_text():
                return worker
        assert time.monotonic() < deadline, fleet.logs()
        time.sleep(0.1)


def jobs_of(fleet: Fleet, task_id: str) -> list[Any]:
    engine = create_engine(sqlalchemy_url(fleet.database_url))
    try:
        with engine.connect() as connection:
            return list(
                connection.execute(
                    text("SELECT status::text FROM procrastinate_jobs WHERE args->>'task_id' = :t"),
                    {"t": task_id},
                ).scalars()
            )
    finally:
        engine.dispose()


def wait_jobs(fleet: Fleet, task_id: str, done: set[str]) -> list[Any]:
    """Wait until no job of the task is queued or running; the statuses left."""
    deadline = time.monotonic() + 60
    while True:
        statuses = jobs_of(fleet, task_id)
        if not set(statuses) & {"todo", "doing"}:
            assert set(statuses) <= done, statuses
            return statuses
        assert time.monotonic() < deadline, statuses
        time.sleep(0.1)


def test_a_worker_killed_mid_analysis_fails_its_task_and_the_other_keeps_going(
    fleet: Fleet, big: RedisServer, small: RedisServer
) -> None:
    client = fleet.client(0)
    big_id, small_id = register(client, big), register(client, small)
    doomed = bigkey(client, big_id)
    wait_task(client, path(big_id, doomed), wanted=("running",))
    victim = runner_of(fleet, doomed)
    victim.kill()

    ended = wait_task(client, path(big_id, doomed), timeout=120)
    assert ended["status"] == "failed", ended
    assert "worker running the task stopped" in ended["reason"]
    wait_jobs(fleet, doomed, {"failed"})

    after = wait_task(client, path(small_id, bigkey(client, small_id)))
    assert after["status"] == "success" and after["num"] == 3, after
    survivor = next(w for w in fleet.workers if w.alive())
    assert survivor is not victim


def test_deleting_a_running_or_a_queued_task_cancels_it(
    fleet: Fleet, big: RedisServer, small: RedisServer
) -> None:
    client = fleet.client(0)
    big_id, small_id = register(client, big), register(client, small)
    alive = [w for w in fleet.workers if w.alive()]
    for extra in alive[1:]:
        extra.kill()
    if not alive:
        fleet.start_worker(concurrency=1)
    # One worker of concurrency 1: the big analysis occupies it, the small one queues.
    running = bigkey(client, big_id)
    wait_task(client, path(big_id, running), wanted=("running",))
    queued = bigkey(client, small_id)
    assert client.get(path(small_id, queued)).json()["status"] == "waiting"

    assert client.delete(path(small_id, queued)).status_code == 200
    assert wait_jobs(fleet, queued, {"cancelled"}) == ["cancelled"]
    assert client.delete(path(big_id, running)).status_code == 200
    wait_jobs(fleet, running, set())  # cancelled mid-scan, the job ended and was cleared

    # The worker is free again: a new analysis of the same kind runs to the end.
    again = wait_task(client, path(small_id, bigkey(client, small_id)))
    assert again["status"] == "success", again


def test_a_worker_started_later_runs_what_was_queued_while_none_ran(
    fleet: Fleet, small: RedisServer
) -> None:
    client = fleet.client(0)
    small_id = register(client, small)
    for worker in fleet.workers:
        if worker.alive():
            worker.kill()
    queued = bigkey(client, small_id)
    assert client.get(path(small_id, queued)).json()["status"] == "waiting"
    fleet.start_worker(concurrency=1)
    done = wait_task(client, path(small_id, queued))
    assert done["status"] == "success", done


def test_worker_check_on_an_unreachable_database_fails_without_showing_the_password() -> None:
    env = {**os.environ, "KEYSCOPE_DATABASE_URL": "postgresql://keyscope:Pw-s3cret@127.0.0.1:1/x"}
    done = subprocess.run(
        [KEYSCOPE, "worker", "--check", "--format", "json"], env=env, capture_output=True,
        text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    health = json.loads(done.stdout)
    assert (health["healthy"], health["database"]) == (False, False)
    assert "unreachable" in health["problem"]
    assert "Pw-s3cret" not in done.stdout + done.stderr


def test_a_backup_taken_by_one_worker_is_analysed_by_another(
    fleet: Fleet, small: RedisServer
) -> None:
    client = fleet.client(0)
    small_id = register(client, small)
    for worker in fleet.workers:
        if worker.alive():
            worker.kill()
    taker = fleet.start_worker(concurrency=1)
    base = f"/instances/{small_id}/offline/key-analysis"
    node = client.get(f"/instances/{small_id}/logical-nodes").json()["nodes"][0]["node_id"]
    created = client.post(base, json_body={"node_id": node})
    assert created.status_code == 200, created.text
    first = wait_task(client, f"{base}/{created.json()['task_id']}")
    assert first["status"] == "success", first
    assert first["id"] in taker.log.read_text()
    taker.kill()

    reader = fleet.start_worker(concurrency=1)
    body = {"node_id": node, "backup_id": first["backup_id"]}
    again = client.post(base, json_body=body)
    assert again.status_code == 200, again.text
    second = wait_task(client, f"{base}/{again.json()['task_id']}")
    assert second["status"] == "success", second
    assert again.json()["task_id"] in reader.log.read_text()
    assert second["analysis_type"] == "old_backup"
    assert (second["total_num"], second["largest_keys"]) == (
        first["total_num"],
        first["largest_keys"],
    )


def test_a_worker_gives_up_on_an_unreachable_database_after_bounded_tries_quietly() -> None:
    env = {
        **os.environ,
        "KEYSCOPE_DATABASE_URL": "postgresql://keyscope:Pw-s3cret@127.0.0.1:1/x",
        "KEYSCOPE_DB_CONNECT_ATTEMPTS": "2",
    }
    done = subprocess.run(
        [KEYSCOPE, "worker"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "database not ready (attempt 1 of 2)" in done.stderr
    assert "the database did not answer" in done.stderr
    assert "Pw-s3cret" not in done.stdout + done.stderr
