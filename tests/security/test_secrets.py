"""Passwords and secret keys never leave their files: a full run, then a grep of everything.

The run registers a password-protected Redis, runs every online analysis, takes and uploads
backups, hands out download links, fails a registration with a wrong password and a task
whose password was changed under it, then puts a wrong and the right new password. Then
every response (headers and body), every log record, every task record and every byte of
the data folder (except the two files meant to hold secrets) is searched for each Redis
password, each secret key and the secrets key.
"""

from __future__ import annotations

import logging
import stat
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from keyscope.api.signing import SignedRequest, sign_request
from keyscope.store.tables import TaskRow
from tests.utils.dcs import AK, OTHER_SK, PROJECT, SK, SignedClient, is_dcs_error
from tests.utils.servers import start_server
from tests.utils.service import running_app, session_factory

pytestmark = pytest.mark.integration

PASSWORD = "Redis-Pa55word-4f1c9e"
CHANGED = "Changed-Pa55word-77aa01"
WRONG = "Wrong-Pa55word-0b2d33"
RDB = b"REDIS0009\xff" + b"\x00" * 8


def _wait_done(client: SignedClient, path: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        body: dict[str, Any] = client.get(path).json()
        if body.get("status") in ("success", "failed") or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def _wait_backup(client: SignedClient, base: str, backup_id: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        records = client.get(f"{base}/backups").json()["backup_record_response"]
        if any(r["backup_id"] == backup_id and r["status"] in ("succeed", "failed")
               for r in records):  # fmt: skip
            return
        time.sleep(0.1)


def full_run(client: SignedClient, redis_port: int, redis: Any) -> None:
    address = f"127.0.0.1:{redis_port}"
    wrong = {"name": "c", "mode": "single", "addresses": [address], "password": WRONG}
    assert is_dcs_error(client.post("/instances", json_body=wrong), 400)
    good = {"name": "c", "mode": "single", "addresses": [address], "password": PASSWORD}
    created = client.post("/instances", json_body=good)
    assert created.status_code == 200, created.text
    instance = created.json()["instance_id"]
    base = f"/instances/{instance}"
    client.get(base)
    client.get("/instances")
    for create, show in (("bigkey-task", "bigkey-task"), ("hotkey-task", "hotkey-task")):
        task = client.post(f"{base}/{create}").json()
        assert _wait_done(client, f"{base}/{show}/{task['id']}")["status"] == "success"
    client.post(f"{base}/scan-expire-keys-task")
    client.get(f"{base}/nodes")
    backup = client.post(f"{base}/backups").json()["backup_id"]
    _wait_backup(client, base, backup)
    uploaded = client.upload(f"{base}/backups/upload", RDB).json()["backup_id"]
    links = client.post(f"{base}/backups/{uploaded}/links", json_body={"expiration": 300})
    assert client.http.get(links.json()["links"][0]["link"]).status_code == 200
    client.get(f"{base}/backups")
    # The password changes under keyscope: the next analysis fails with an auth error.
    redis.config_set("requirepass", CHANGED)
    task = client.post(f"{base}/bigkey-task")
    if task.status_code == 200:
        failed = _wait_done(client, f"{base}/bigkey-task/{task.json()['id']}")
        assert failed["status"] == "failed"
    # The operator puts the new password (after a wrong one), and analyses work again.
    assert is_dcs_error(client.put(base, json_body={"password": WRONG}), 400, "DCS.4972")
    assert client.put(base, json_body={"password": CHANGED}).status_code == 204
    task = client.post(f"{base}/bigkey-task").json()
    assert _wait_done(client, f"{base}/bigkey-task/{task['id']}")["status"] == "success"
    client.get(f"{base}/bigkey-tasks")
    client.get(f"{base}/auto-expire/histories")


def test_no_secret_appears_in_responses_logs_task_records_or_the_database(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    redis_server = start_server(
        tmp_path / "redis", password=PASSWORD, extra=["--maxmemory-policy", "allkeys-lfu"]
    )
    seen: list[bytes] = []

    def record(response: httpx.Response) -> None:
        response.read()
        seen.append(str(response.headers.multi_items()).encode() + response.content)

    try:
        redis_server.client().mset({f"user:{i}": "x" * 20_000 for i in range(5)})
        with running_app(tmp_path) as (app, client):
            client.http.event_hooks["response"] = [record]
            full_run(client, redis_server.port, redis_server.client())
            with session_factory(app)() as session:
                tasks = [
                    repr((t.params, t.result, t.reason)).encode()
                    for t in session.query(TaskRow).all()
                ]
    finally:
        redis_server.stop()
    data = tmp_path / "keyscope-data"
    fernet_key = (data / "secret.key").read_text().strip()
    secrets = [PASSWORD, CHANGED, WRONG, SK, OTHER_SK, fernet_key]
    logs = [(r.getMessage() + repr(r.args) + (r.exc_text or "")).encode() for r in caplog.records]
    stored = {
        p: p.read_bytes()
        for p in data.rglob("*")
        if p.is_file() and p.name not in ("secret.key", "credentials.json")
    }
    assert len(seen) > 20 and tasks and logs and any(p.name == "keyscope.db" for p in stored)
    for secret in secrets:
        needle = secret.encode()
        assert not [s for s in seen if needle in s], f"a response holds {secret[:4]}…"
        assert not [s for s in logs if needle in s], f"a log record holds {secret[:4]}…"
        assert not [t for t in tasks if needle in t], f"a task record holds {secret[:4]}…"
        assert not [p for p, b in stored.items() if needle in b], f"a file holds {secret[:4]}…"


def test_secret_files_and_backups_are_owner_only(tmp_path: Path) -> None:
    redis_server = start_server(tmp_path / "redis", password=PASSWORD)
    try:
        with running_app(tmp_path) as (_app, client):
            body = {"name": "c", "mode": "single", "addresses": [redis_server.address],
                    "password": PASSWORD}  # fmt: skip
            instance = client.post("/instances", json_body=body).json()["instance_id"]
            base = f"/instances/{instance}"
            _wait_backup(client, base, client.post(f"{base}/backups").json()["backup_id"])
            client.upload(f"{base}/backups/upload", RDB)
    finally:
        redis_server.stop()
    data = tmp_path / "keyscope-data"
    private = [
        data / "secret.key",
        data / "credentials.json",
        data / "keyscope.db",
        *data.glob("keyscope.db-*"),
        *data.glob("backups/*/*.rdb"),
    ]
    assert len(private) >= 5
    for path in private:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for folder in data.glob("backups/*"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder


def test_a_credentials_file_others_can_read_stops_the_service(tmp_path: Path) -> None:
    from keyscope.api.credentials import CredentialStore
    from keyscope.domain.errors import InvalidInput
    from tests.utils.dcs import credentials_file

    path = credentials_file(tmp_path / "credentials.json")
    path.chmod(0o644)
    with pytest.raises(InvalidInput, match=r"accessible by group or others.*chmod 600"):
        CredentialStore.from_file(path)


def test_identical_signed_requests_repeated_are_accepted_and_stale_ones_refused(
    tmp_path: Path,
) -> None:
    """The SigV4 model: the same signed request is valid while its date is within 15 min of
    the server clock, however often it comes (the SDK signs to the second, so a genuine
    repeat is identical); outside that window it is 401 either way."""
    offset = [timedelta(0)]
    with running_app(tmp_path, clock=lambda: datetime.now(UTC) + offset[0]) as (_app, client):
        host = client.http.base_url.netloc.decode()
        headers = {"host": host, "content-type": "application/json;charset=utf-8",
                   "x-project-id": PROJECT}  # fmt: skip
        path = f"/v2/{PROJECT}/instances"
        body = b'{"name": "c", "mode": "single", "addresses": ["127.0.0.1:1"]}'
        create = sign_request(SignedRequest("POST", path, "", headers, body), AK, SK,
                              now=datetime.now(UTC))  # fmt: skip
        # Nothing listens on port 1: 400, but past authentication every time.
        answers = [client.http.post(path, content=body, headers=dict(create.headers))
                   for _ in range(20)]  # fmt: skip
        assert [a.status_code for a in answers] == [400] * 20
        read = sign_request(SignedRequest("GET", path, "", headers, b""), AK, SK,
                            now=datetime.now(UTC))  # fmt: skip
        offset[0] = timedelta(minutes=14)
        assert client.http.get(path, headers=dict(read.headers)).status_code == 200
        for skew in (timedelta(minutes=16), timedelta(minutes=-16)):
            offset[0] = skew
            stale = client.http.get(path, headers=dict(read.headers))
            assert is_dcs_error(stale, 401)
            assert "server clock" in stale.json()["error_msg"]
