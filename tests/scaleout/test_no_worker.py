"""Scale-out with no worker alive: queued tasks read ``waiting``, a dead worker's task ends.

Before: with no worker alive a task sat ``running`` and blocked new analyses of its kind on
the instance, because only a live worker's supervisor failed the tasks of silent workers.
Now a created task that no worker has claimed reads ``waiting`` in every view (detail,
list, history), and the API processes fail a running task whose worker stopped
heartbeating, so the kind is free again without any worker coming back.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.scaleout.fleet import Fleet, wait_task
from tests.scaleout.test_fleet import register, start
from tests.utils.dcs import SignedClient
from tests.utils.servers import RedisServer, start_server

pytestmark = [pytest.mark.scaleout, pytest.mark.slow]

KINDS = ("bigkey", "hotkey", "expire", "offline")
LISTS = {"bigkey": "bigkey-tasks", "hotkey": "hotkey-tasks", "expire": "auto-expire/histories",
         "offline": "offline/key-analysis"}  # fmt: skip
DETAILS = {"bigkey": "bigkey-task", "hotkey": "hotkey-task", "offline": "offline/key-analysis"}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Iterator[Fleet]:
    fleet = Fleet(tmp_path_factory.mktemp("fleet"), database_url, stall_after_s=3.0)
    fleet.env["KEYSCOPE_MAX_OPS_PER_SEC"] = "2000"  # the big analysis outlives its worker
    try:
        fleet.start_api()
        yield fleet
    finally:
        fleet.stop()


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = start_server(
        tmp_path_factory.mktemp("node"), extra=["--maxmemory-policy", "allkeys-lfu"]
    )
    server.client().execute_command("DEBUG", "POPULATE", 50_000, "key", 16)
    yield server
    server.stop()


def listed(client: SignedClient, instance: str, kind: str, task: str) -> dict[str, Any]:
    records = client.get(f"/instances/{instance}/{LISTS[kind]}").json()["records"]
    return dict(next(r for r in records if r["id"] == task))


def test_tasks_created_with_no_worker_alive_read_waiting_everywhere(
    fleet: Fleet, node: RedisServer
) -> None:
    client = fleet.client(0)
    instance = register(client, node)
    tasks = {kind: start(client, instance, kind) for kind in KINDS}
    time.sleep(2.0)  # long enough for anything that would move them on
    for kind, task in tasks.items():
        assert listed(client, instance, kind, task)["status"] == "waiting", kind
        if kind in DETAILS:
            detail = client.get(f"/instances/{instance}/{DETAILS[kind]}/{task}").json()
            assert detail["status"] == "waiting", (kind, detail)
            assert detail.get("started_at") is None, (kind, detail)
    for kind, task in tasks.items():  # cleared for the next test
        path = f"/instances/{instance}/{DETAILS.get(kind, 'auto-expire/histories')}/{task}"
        if kind in DETAILS:
            assert client.delete(path).status_code == 200


def test_a_task_whose_only_worker_died_fails_and_frees_its_kind_with_no_worker_back(
    fleet: Fleet, node: RedisServer
) -> None:
    client = fleet.client(0)
    instance = register(client, node)
    worker = fleet.start_worker(concurrency=1)
    task = start(client, instance, "bigkey")
    path = f"/instances/{instance}/bigkey-task/{task}"
    wait_task(client, path, wanted=("running",))
    worker.kill()

    ended = wait_task(client, path, timeout=60)
    assert ended["status"] == "failed", ended
    assert "worker running the task stopped" in ended["reason"], ended
    again = client.post(f"/instances/{instance}/bigkey-task")
    assert again.status_code == 200, again.text
    queued = again.json()["id"]
    assert client.get(f"/instances/{instance}/bigkey-task/{queued}").json()["status"] == "waiting"
