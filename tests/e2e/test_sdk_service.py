"""The official Huawei Cloud DCS SDK drives a real ``keyscope serve`` process unchanged."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkdcs.v2 import (
    AutoscanConfigRequest,
    CreateAutoExpireScanTaskRequest,
    CreateBigkeyScanTaskRequest,
    CreateHotkeyScanTaskRequest,
    DcsClient,
    DeleteBigkeyScanTaskRequest,
    DownloadHotKeyRequest,
    ListBigkeyScanTasksRequest,
    ShowBigkeyScanTaskDetailsRequest,
    ShowExpireAutoScanConfigRequest,
    ShowExpireKeyScanInfoRequest,
    ShowHotkeyTaskDetailsRequest,
    ShowNodesInformationRequest,
    UpdateAutoScanConfigRequestBody,
    UpdateBigkeyAutoscanConfigRequest,
    UpdateExpireAutoScanConfigRequest,
)

from tests.utils.dcs import AK, OTHER_AK, OTHER_PROJECT, OTHER_SK, PROJECT, SK, SignedClient
from tests.utils.dcs import credentials_file as write_credentials
from tests.utils.serve_process import Serve, keyscope_serve
from tests.utils.servers import RedisServer

pytestmark = pytest.mark.e2e


def sdk(url: str, ak: str = AK, sk: str = SK, project: str = PROJECT) -> DcsClient:
    return (
        DcsClient.new_builder()
        .with_credentials(BasicCredentials(ak, sk, project))
        .with_endpoints([url])
        .build()
    )


@pytest.fixture
def serve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Serve]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    data = tmp_path / "data"
    data.mkdir()
    write_credentials(data / "credentials.json")
    with keyscope_serve(data) as running:
        yield running


def test_the_sdk_runs_a_big_key_analysis_end_to_end(
    serve: Serve, redis_server: RedisServer
) -> None:
    r = redis_server.client()
    r.set("session:blob", b"x" * 30_000)
    r.rpush("queue:jobs", *range(6000))
    with httpx.Client(base_url=serve.url, timeout=60) as http:
        body = {"name": "e2e", "mode": "single", "addresses": [redis_server.address]}
        registered = SignedClient(http).post("/instances", json_body=body)
    assert registered.status_code == 200, registered.text
    instance_id = registered.json()["instance_id"]
    client = sdk(serve.url)

    created = client.create_bigkey_scan_task(CreateBigkeyScanTaskRequest(instance_id=instance_id))
    assert (created.status, created.scan_type, created.num) == ("waiting", "manual", 0)
    assert created.instance_id == instance_id

    deadline = time.monotonic() + 60
    details = client.show_bigkey_scan_task_details(
        ShowBigkeyScanTaskDetailsRequest(instance_id=instance_id, bigkey_id=created.id)
    )
    while details.status not in ("success", "failed") and time.monotonic() < deadline:
        time.sleep(0.1)
        details = client.show_bigkey_scan_task_details(
            ShowBigkeyScanTaskDetailsRequest(instance_id=instance_id, bigkey_id=created.id)
        )
    assert details.status == "success"
    found = {k.name: (k.type, k.size, k.unit) for k in details.keys}
    assert found == {
        "session:blob": ("string", 30_000, "byte"),
        "queue:jobs": ("list", 6000, "count"),
    }
    assert details.finished_at.endswith("Z")

    listed = client.list_bigkey_scan_tasks(
        ListBigkeyScanTasksRequest(instance_id=instance_id, offset=0, limit=10, status="success")
    )
    assert listed.count == 1
    assert [rec.id for rec in listed.records] == [created.id]

    deleted = client.delete_bigkey_scan_task(
        DeleteBigkeyScanTaskRequest(instance_id=instance_id, bigkey_id=created.id)
    )
    assert deleted.id == created.id
    after = client.list_bigkey_scan_tasks(ListBigkeyScanTasksRequest(instance_id=instance_id))
    assert after.count == 0


def _register(url: str, server: RedisServer) -> str:
    with httpx.Client(base_url=url, timeout=60) as http:
        body = {"name": "e2e", "mode": "single", "addresses": [server.address]}
        registered = SignedClient(http).post("/instances", json_body=body)
    assert registered.status_code == 200, registered.text
    return str(registered.json()["instance_id"])


def test_the_sdk_drives_hot_keys_expire_scans_schedules_and_nodes(
    serve: Serve, redis_lfu_server: RedisServer
) -> None:
    r = redis_lfu_server.client()
    r.set("user:42", "v")
    pipe = r.pipeline(transaction=False)
    for _ in range(2000):  # well above the hot-key floor (counter 10, ~100 accesses)
        pipe.get("user:42")
    pipe.execute()
    instance_id = _register(serve.url, redis_lfu_server)
    client = sdk(serve.url)

    nodes = client.show_nodes_information(ShowNodesInformationRequest(instance_id=instance_id))
    assert nodes.total == 1
    assert nodes.nodes[0].node_port == str(redis_lfu_server.port)

    body = AutoscanConfigRequest(enable_auto_scan=True, schedule_at=["21:00", "09:30"])
    config = client.update_bigkey_autoscan_config(
        UpdateBigkeyAutoscanConfigRequest(instance_id=instance_id, body=body)
    )
    assert (config.enable_auto_scan, config.schedule_at) == (True, ["21:00", "09:30"])

    expire_body = UpdateAutoScanConfigRequestBody(
        enable_auto_scan=True,
        first_scan_at="2023-07-07T15:00:05.000",
        interval=3600,
        timeout=7200,
        scan_keys_count=100,
    )
    client.update_expire_auto_scan_config(
        UpdateExpireAutoScanConfigRequest(instance_id=instance_id, body=expire_body)
    )
    expire_config = client.show_expire_auto_scan_config(
        ShowExpireAutoScanConfigRequest(instance_id=instance_id)
    )
    assert (expire_config.first_scan_at, expire_config.timeout) == ("2023-07-07T15:00:05.000", 7200)

    scan = client.create_auto_expire_scan_task(
        CreateAutoExpireScanTaskRequest(instance_id=instance_id)
    )
    assert scan.status == "waiting"
    hot = client.create_hotkey_scan_task(CreateHotkeyScanTaskRequest(instance_id=instance_id))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        details = client.show_hotkey_task_details(
            ShowHotkeyTaskDetailsRequest(instance_id=instance_id, hotkey_id=hot.id)
        )
        history = client.show_expire_key_scan_info(
            ShowExpireKeyScanInfoRequest(instance_id=instance_id)
        )
        if details.status == "success" and history.records[0].status == "success":
            break
        time.sleep(0.1)
    assert [k.name for k in details.keys] == ["user:42"]
    assert details.keys[0].freq > 0
    assert (history.total, history.records[0].id) == (1, scan.id)

    downloaded: list[bytes] = []
    client.download_hot_key(
        DownloadHotKeyRequest(instance_id=instance_id, task_id=hot.id)
    ).consume_download_stream(lambda stream: downloaded.append(stream.content))
    assert b"user:42" in downloaded[0]


def test_the_sdk_gets_401_for_a_wrong_secret_and_403_for_another_project(serve: Serve) -> None:
    request = ListBigkeyScanTasksRequest(instance_id="5560df16-cebf-4473-95c4-d1b573c16e79")
    with pytest.raises(ClientRequestException) as wrong_sk:
        sdk(serve.url, sk="not-the-right-secret-key-0123456789").list_bigkey_scan_tasks(request)
    assert wrong_sk.value.status_code == 401
    assert wrong_sk.value.error_code == "DCS.4010"
    assert wrong_sk.value.request_id

    foreign = sdk(serve.url, ak=OTHER_AK, sk=OTHER_SK, project=PROJECT)
    with pytest.raises(ClientRequestException) as forbidden:
        foreign.list_bigkey_scan_tasks(request)
    assert forbidden.value.status_code == 403
    assert forbidden.value.error_code == "DCS.4030"

    own = sdk(serve.url, ak=OTHER_AK, sk=OTHER_SK, project=OTHER_PROJECT)
    with pytest.raises(ClientRequestException) as not_found:
        own.list_bigkey_scan_tasks(request)
    assert not_found.value.status_code == 404
    assert not_found.value.error_code == "DCS.4041"


def test_the_first_start_creates_a_credential_and_never_prints_the_secret(tmp_path: Path) -> None:
    data = tmp_path / "fresh"
    with keyscope_serve(data) as running:
        path = data / "credentials.json"
        stored = json.loads(path.read_text())["credentials"][0]
        assert path.stat().st_mode & 0o777 == 0o600
        client = sdk(running.url, stored["access_key"], stored["secret_key"], stored["projects"][0])
        request = ListBigkeyScanTasksRequest(instance_id="5560df16-cebf-4473-95c4-d1b573c16e79")
        with pytest.raises(ClientRequestException) as unknown:
            client.list_bigkey_scan_tasks(request)
        assert unknown.value.status_code == 404
    printed = running.output.read_text()
    assert stored["access_key"] in printed
    assert stored["projects"][0] in printed
    assert str(path.resolve()) in printed
    assert stored["secret_key"] not in printed
