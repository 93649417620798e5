"""A full disk and a read-only data folder: DCS errors with a reason, and a health probe
that says so.

Before: with the disk full, creates and backups answered a bare 500 while ``/healthz`` said
ok, and a backup that ran out of space showed only ``dcs.08.0001``. Here the data folder is
a real 16 MiB tmpfs, filled to the last byte (or remounted read-only) under a running
service, against a real redis-server.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from keyscope.api.app import Overrides, create_app
from keyscope.settings import Settings
from tests.utils.dcs import SignedClient, credentials_file, is_dcs_error
from tests.utils.filesystems import fill, read_only, small_tmpfs
from tests.utils.servers import RedisServer
from tests.utils.service import serving

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    with small_tmpfs(tmp_path / "disk") as mounted:
        yield mounted


@pytest.fixture
def client(disk: Path) -> Iterator[SignedClient]:
    data = disk / "keyscope-data"
    credentials_file(data / "credentials.json")
    app = create_app(Settings(data_dir=data, workers=2), Overrides(scheduler_poll_s=None))
    with serving(app) as url, httpx.Client(base_url=url, timeout=60) as http:
        yield SignedClient(http)


def register(client: SignedClient, server: RedisServer) -> str:
    body = {"name": "n", "mode": "single", "addresses": [server.address]}
    response = client.post("/instances", json_body=body)
    assert response.status_code == 200, response.text
    return str(response.json()["instance_id"])


def backup_record(client: SignedClient, instance: str, backup: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        listing = client.get(f"/instances/{instance}/backups").json()
        record = next(b for b in listing["backup_record_response"] if b["backup_id"] == backup)
        if record["status"] in ("succeed", "failed"):
            return dict(record)
        assert time.monotonic() < deadline, record
        time.sleep(0.1)


def test_a_full_disk_gives_readable_dcs_errors_and_a_degraded_health_until_freed(
    disk: Path, client: SignedClient, redis_server: RedisServer
) -> None:
    # A snapshot larger than the whole disk: 20,000 keys of 1 KB, uncompressed.
    redis_server.client().config_set("repl-diskless-sync-delay", "0")
    redis_server.client().config_set("rdbcompression", "no")
    redis_server.client().execute_command("DEBUG", "POPULATE", 20_000, "fill", 1024)
    instance = register(client, redis_server)
    assert client.http.get("/healthz").status_code == 200
    filler = fill(disk)

    health = client.http.get("/healthz")
    assert health.status_code == 503, health.text
    assert health.json()["status"] == "degraded"
    assert health.json()["data_dir"] == "full"
    assert "no space left on the disk of the data folder" in health.json()["reason"]

    # Every write now meets the full disk: a create is refused with the reason.
    more = {"mode": "single", "addresses": [redis_server.address]}
    answers = [client.post("/instances", json_body={"name": f"n{i}", **more}) for i in range(50)]
    refused = [a for a in answers if a.status_code != 200]
    assert refused, "the full disk took every write"
    for answer in refused:
        assert is_dcs_error(answer, 500, "DCS.5001"), answer.text
        assert "no space left on the disk of the database" in answer.json()["error_msg"]

    filler.unlink()  # room for the backup row, not for the snapshot
    (disk / "room").write_bytes(b"\0" * (1 << 20))
    fill(disk)
    (disk / "room").unlink()
    created = client.post(f"/instances/{instance}/backups", json_body={"remark": "full"})
    assert created.status_code == 200, created.text
    record = backup_record(client, instance, created.json()["backup_id"])
    assert (record["status"], record["error_code"]) == ("failed", "dcs.08.0001"), record
    assert record["reason"] == "no space left on the disk of the backups folder", record
    assert not list(disk.rglob("*.part"))

    (disk / "filler").unlink()
    health = client.http.get("/healthz")
    assert health.status_code == 200, health.text
    assert health.json() == {"status": "ok", "database": "up"}


def test_a_read_only_data_folder_is_reported_by_health_until_writable_again(
    disk: Path, client: SignedClient
) -> None:
    with read_only(disk / "keyscope-data"):
        health = client.http.get("/healthz")
        assert health.status_code == 503, health.text
        body = health.json()
        assert (body["status"], body["database"], body["data_dir"]) == (
            "degraded", "up", "not writable"
        )  # fmt: skip
        assert "the data folder is not writable (Read-only file system)" in body["reason"]
    assert client.http.get("/healthz").json() == {"status": "ok", "database": "up"}
