"""Every analysis and every backup has an overall deadline, whatever pace the node answers at.

Before, a proxy adding 3 s to each reply (under the 5 s socket timeout) kept a big-key task
``running`` for 6.5 minutes: no single read timed out, so nothing ever ended it. Here a
real redis-server sits behind a proxy that holds each reply back (0.3 s, the same fault at a
pace a test can wait for) and the deadlines are set tiny: each analysis kind ends ``failed``
with the deadline named in its reason, and a backup ends ``failed`` as timed out.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from keyscope.api.app import Overrides, create_app
from keyscope.settings import Settings
from tests.utils.dcs import SignedClient, credentials_file
from tests.utils.servers import RedisServer, start_server
from tests.utils.service import serving
from tests.utils.slow_proxy import SlowProxy, slow_proxy

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPLY_DELAY_S = 0.3
TINY_S = 2.0


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = start_server(
        tmp_path_factory.mktemp("slow"), extra=["--maxmemory-policy", "allkeys-lfu"]
    )
    server.client().config_set("repl-diskless-sync-delay", "0")
    server.client().execute_command("DEBUG", "POPULATE", 100_000, "key", 16)
    yield server
    server.stop()


@pytest.fixture
def proxy(node: RedisServer) -> Iterator[SlowProxy]:
    with slow_proxy((node.host, node.port), REPLY_DELAY_S) as running:
        yield running


@contextmanager
def service(tmp_path: Path, **deadlines: float) -> Iterator[SignedClient]:
    data = tmp_path / "keyscope-data"
    credentials_file(data / "credentials.json")
    settings = Settings(data_dir=data, workers=2, **deadlines)
    app = create_app(settings, Overrides(scheduler_poll_s=None))
    with serving(app) as url, httpx.Client(base_url=url, timeout=120) as http:
        yield SignedClient(http)


@pytest.fixture
def tight(tmp_path: Path) -> Iterator[SignedClient]:
    with service(tmp_path, analysis_deadline_s=TINY_S) as client:
        yield client


@pytest.fixture
def tight_backups(tmp_path: Path) -> Iterator[SignedClient]:
    with service(tmp_path, backup_deadline_s=1.0) as client:
        yield client


def register(client: SignedClient, address: str) -> str:
    body = {"name": "slow", "mode": "single", "addresses": [address]}
    response = client.post("/instances", json_body=body)
    assert response.status_code == 200, response.text
    return str(response.json()["instance_id"])


def wait_for(fetch: Callable[[], dict[str, Any]], timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        record = fetch()
        if record.get("status") in ("success", "failed", "succeed"):
            return record
        assert time.monotonic() < deadline, record
        time.sleep(0.1)


def start(client: SignedClient, instance: str, kind: str) -> Callable[[], dict[str, Any]]:
    """Create an analysis of ``kind``; a fetch of its record (with ``reason``)."""
    base = f"/instances/{instance}"
    if kind == "offline":
        node_id = client.get(f"{base}/logical-nodes").json()["nodes"][0]["node_id"]
        created = client.post(f"{base}/offline/key-analysis", json_body={"node_id": node_id})
        assert created.status_code == 200, created.text
        task = created.json()["task_id"]
        return lambda: dict(client.get(f"{base}/offline/key-analysis/{task}").json())
    if kind == "expire":
        created = client.post(f"{base}/scan-expire-keys-task")
        assert created.status_code == 200, created.text
        task = created.json()["id"]

        def history() -> dict[str, Any]:
            records = client.get(f"{base}/auto-expire/histories").json()["records"]
            return dict(next(r for r in records if r["id"] == task))

        return history
    created = client.post(f"{base}/{kind}-task")
    assert created.status_code == 200, created.text
    task = created.json()["id"]
    return lambda: dict(client.get(f"{base}/{kind}-task/{task}").json())


@pytest.mark.parametrize("kind", ["bigkey", "hotkey", "expire", "offline"])
def test_an_analysis_of_a_node_answering_late_ends_failed_at_its_deadline(
    tight: SignedClient, proxy: SlowProxy, kind: str
) -> None:
    instance = register(tight, proxy.address)
    done = wait_for(start(tight, instance, kind))
    assert done["status"] == "failed", done
    assert done["reason"] == (
        f"the analysis did not finish within its deadline of {TINY_S:g} s"
        " (KEYSCOPE_ANALYSIS_DEADLINE_S)"
    ), done
    start(tight, instance, kind)  # the kind is free again: the task no longer counts as active


def test_a_backup_of_a_node_answering_late_ends_failed_as_timed_out(
    tmp_path: Path, tight_backups: SignedClient, proxy: SlowProxy
) -> None:
    client = tight_backups
    instance = register(client, proxy.address)
    created = client.post(f"/instances/{instance}/backups", json_body={"remark": "slow"})
    assert created.status_code == 200, created.text
    backup = created.json()["backup_id"]

    def record() -> dict[str, Any]:
        listing = client.get(f"/instances/{instance}/backups").json()
        return dict(next(b for b in listing["backup_record_response"] if b["backup_id"] == backup))

    done = wait_for(record)
    assert (done["status"], done["error_code"]) == ("failed", "dcs.08.0002"), done
    assert not list((tmp_path / "keyscope-data" / "backups").rglob("*.part"))


def test_the_default_deadlines_leave_a_100m_key_scan_room() -> None:
    settings = Settings()
    one_op_per_key_s = 100_000_000 / settings.max_ops_per_sec
    assert settings.analysis_deadline_s >= 3 * one_op_per_key_s  # three commands a key
    assert settings.backup_deadline_s >= 20e9 / 10e6  # 20 GB at 10 MB/s
