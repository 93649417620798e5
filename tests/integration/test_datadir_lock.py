"""Two keyscope processes on one data folder: the second refuses to start, naming the holder.

Before the lock, a second ``keyscope serve`` on the same folder started, failed the first
one's running task as "keyscope restarted" while it still ran, and then accepted a second
analysis of the same kind on the instance. Now the second process (serve or worker) exits
with one line naming the holder's pid, host and start time, and the first one's task runs on.
The lock is the kernel's, so a holder killed with SIGKILL leaves nothing stale behind.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.integration.test_crash_sigkill import KEYSCOPE, Serve, register, wait_status
from tests.utils.dcs import SignedClient, credentials_file
from tests.utils.servers import start_server

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def second(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [KEYSCOPE, *args], capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


def test_a_second_serve_or_worker_on_the_same_data_dir_refuses_and_the_first_task_runs_on(
    tmp_path: Path,
) -> None:
    data = tmp_path / "keyscope-data"
    credentials_file(data / "credentials.json")
    server = start_server(tmp_path / "redis")
    server.client().execute_command("DEBUG", "POPULATE", 20_000, "key", 16)
    first = Serve(data, tmp_path / "first.log")
    try:
        first.start()
        assert first.process is not None
        with httpx.Client(base_url=first.url, timeout=60) as http:
            client = SignedClient(http)
            instance = register(client, server)
            task = client.post(f"/instances/{instance}/bigkey-task").json()["id"]
            path = f"/instances/{instance}/bigkey-task/{task}"
            assert wait_status(client, path, {"running"})["status"] == "running"

            refused = second(["serve", "--port", "1", "--data-dir", str(data)])
            worker = second(
                ["worker", "--data-dir", str(data)],
                {"KEYSCOPE_DATABASE_URL": "postgresql://k:Pw-s3cret@127.0.0.1:1/x"},
            )

            # 2,000 ops/s over 20,000 keys: the task was still running when the others tried.
            done = wait_status(client, path, {"success", "failed"})
            assert done["status"] == "success", done
            again = client.post(f"/instances/{instance}/bigkey-task")
            assert again.status_code == 200, again.text
        for attempt, command in ((refused, "serve"), (worker, "worker")):
            assert attempt.returncode == 2, attempt.stdout + attempt.stderr
            lines = attempt.stderr.strip().splitlines()
            assert len(lines) == 1, attempt.stderr
            assert lines[0].startswith(f"keyscope: the data folder {data.resolve()} is in use by")
            holder = f"keyscope serve (pid {first.process.pid} on host {socket.gethostname()},"
            assert holder in lines[0], (command, lines[0])
            assert "since 20" in lines[0] and "Traceback" not in attempt.stderr
            assert "Pw-s3cret" not in attempt.stdout + attempt.stderr
        label = json.loads((data / "keyscope.lock").read_text())
        assert label["pid"] == first.process.pid
    finally:
        first.stop()
        server.stop()


def test_the_lock_dies_with_a_holder_killed_by_sigkill(tmp_path: Path) -> None:
    data = tmp_path / "keyscope-data"
    credentials_file(data / "credentials.json")
    first = Serve(data, tmp_path / "first.log")
    successor = Serve(data, tmp_path / "successor.log")
    try:
        first.start()
        first.kill()  # no clean-up ran: the lock file and its label are still there
        assert (data / "keyscope.lock").exists()
        successor.start()
        assert successor.process is not None
        label = json.loads((data / "keyscope.lock").read_text())
        assert (label["pid"], label["command"]) == (successor.process.pid, "serve")
    finally:
        first.stop()
        successor.stop()


def test_one_process_holds_one_folder_and_another_folder_is_free(tmp_path: Path) -> None:
    from keyscope.domain.errors import DataDirInUse
    from keyscope.store.datadir import lock_data_dir

    held = lock_data_dir(tmp_path, command="serve")
    try:
        with pytest.raises(DataDirInUse) as refused:
            lock_data_dir(tmp_path, command="worker")
        assert f"pid {os.getpid()}" in refused.value.holder
        (tmp_path / "other").mkdir()
        lock_data_dir(tmp_path / "other", command="worker").release()
    finally:
        held.release()
    lock_data_dir(tmp_path, command="worker").release()  # released: free again
