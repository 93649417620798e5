"""``keyscope serve`` killed with SIGKILL while analyses run, then started again.

After the restart no task is stuck running (the interrupted ones are failed with a reason),
everything recorded before the kill is still there and unchanged, SQLite passes its
integrity check, and a schedule that fell due while keyscope was down still fires.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.utils.dcs import SignedClient, credentials_file
from tests.utils.servers import RedisServer, free_port, start_server

pytestmark = [pytest.mark.integration, pytest.mark.slow]

KEYSCOPE = str(Path(sys.executable).parent / "keyscope")


class Serve:
    """A ``keyscope serve`` subprocess on a free port over one data folder."""

    def __init__(self, data: Path, log: Path) -> None:
        self.data, self.log = data, log
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> float:
        """Start and wait until it answers; returns the seconds that took."""
        env = {**os.environ, "KEYSCOPE_MAX_OPS_PER_SEC": "2000", "KEYSCOPE_WORKERS": "2"}
        started = time.monotonic()
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [KEYSCOPE, "serve", "--port", str(self.port), "--data-dir", str(self.data)],
                stdout=out, stderr=subprocess.STDOUT, env=env,
            )  # fmt: skip
        while True:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            try:
                if httpx.get(f"{self.url}/openapi.json", timeout=1).status_code == 200:
                    return time.monotonic() - started
            except httpx.TransportError:
                pass
            assert time.monotonic() - started < 60, "keyscope serve did not start"
            time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def big(tmp_path: Path) -> Iterator[RedisServer]:
    server = start_server(tmp_path / "big", extra=["--maxmemory-policy", "allkeys-lfu"])
    server.client().execute_command("DEBUG", "POPULATE", 100_000, "key", 16)
    yield server
    server.stop()


@pytest.fixture
def small(tmp_path: Path) -> Iterator[RedisServer]:
    server = start_server(tmp_path / "small")
    server.client().mset({f"big:{i}": "x" * 20_000 for i in range(3)})
    yield server
    server.stop()


def register(client: SignedClient, server: RedisServer) -> str:
    body = {"name": "n", "mode": "single", "addresses": [server.address]}
    response = client.post("/instances", json_body=body)
    assert response.status_code == 200, response.text
    return str(response.json()["instance_id"])


def wait_status(client: SignedClient, path: str, wanted: set[str]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        body: dict[str, Any] = client.get(path).json()
        if body["status"] in wanted or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def test_a_sigkill_mid_analysis_loses_nothing_and_leaves_nothing_running(
    tmp_path: Path, big: RedisServer, small: RedisServer
) -> None:
    data = tmp_path / "keyscope-data"
    credentials_file(data / "credentials.json")
    serve = Serve(data, tmp_path / "serve.log")
    try:
        serve.start()
        with httpx.Client(base_url=serve.url, timeout=60) as http:
            client = SignedClient(http)
            big_id, small_id = register(client, big), register(client, small)
            done = client.post(f"/instances/{small_id}/bigkey-task").json()["id"]
            done_path = f"/instances/{small_id}/bigkey-task/{done}"
            before = wait_status(client, done_path, {"success"})
            assert before["status"] == "success" and before["num"] == 3
            running = [
                client.post(f"/instances/{big_id}/{kind}-task").json()["id"]
                for kind in ("bigkey", "hotkey")
            ]
            for kind, task in zip(("bigkey", "hotkey"), running, strict=True):
                wait_status(client, f"/instances/{big_id}/{kind}-task/{task}", {"running"})
            due = datetime.now(UTC) + timedelta(seconds=2)
            config = {"enable_auto_scan": True, "interval": 3600, "timeout": 7200,
                      "first_scan_at": due.strftime("%Y-%m-%dT%H:%M:%S.000")}  # fmt: skip
            put = client.put(f"/instances/{small_id}/scan-expire-keys/autoscan-config",
                             json_body=config)  # fmt: skip
            assert put.status_code == 200, put.text
            serve.kill()
        # Down: the schedule falls due now, and the database must be intact.
        with sqlite3.connect(data / "keyscope.db") as db:
            assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 0.5)
        restart_s = serve.start()
        with httpx.Client(base_url=serve.url, timeout=60) as http:
            client = SignedClient(http)
            after = client.get(done_path).json()
            assert after == before
            for kind, task in zip(("bigkey", "hotkey"), running, strict=True):
                record = client.get(f"/instances/{big_id}/{kind}-task/{task}").json()
                assert record["status"] == "failed", record
                assert "restarted" in record["reason"]
            listed = {r["status"] for r in client.get(f"/instances/{big_id}/bigkey-tasks")
                      .json()["records"]}  # fmt: skip
            assert "running" not in listed and "waiting" not in listed
            assert {i["instance_id"] for i in client.get("/instances").json()["instances"]} == {
                big_id,
                small_id,
            }
            deadline = time.monotonic() + 30
            fired: list[dict[str, Any]] = []
            while not fired and time.monotonic() < deadline:
                history = client.get(f"/instances/{small_id}/auto-expire/histories").json()
                fired = [r for r in history["records"] if r["scan_type"] == "auto"]
                time.sleep(0.2)
            assert fired, "the schedule that fell due while keyscope was down did not fire"
            again = client.post(f"/instances/{big_id}/bigkey-task")
            assert again.status_code == 200, again.text
            print(f"FIGURE crash restart_ready_s={restart_s:.2f} interrupted_failed=2 "
                  f"auto_scan_fired={len(fired)}")  # fmt: skip
    finally:
        serve.stop()
    with sqlite3.connect(data / "keyscope.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
