"""The OpenAPI document names each operation after its DCS operation."""

from __future__ import annotations

from pathlib import Path

from keyscope.api.app import create_app
from keyscope.settings import Settings

DCS_OPERATIONS = {
    ("post", "/v2/{project_id}/instances/{instance_id}/bigkey-task"): "CreateBigkeyScanTask",
    ("get", "/v2/{project_id}/instances/{instance_id}/bigkey-tasks"): "ListBigkeyScanTasks",
    ("get", "/v2/{project_id}/instances/{instance_id}/bigkey-task/{bigkey_id}"):
        "ShowBigkeyScanTaskDetails",
    ("delete", "/v2/{project_id}/instances/{instance_id}/bigkey-task/{bigkey_id}"):
        "DeleteBigkeyScanTask",
    ("get", "/v2/{project_id}/instances/{instance_id}/bigkey/autoscan"):
        "ShowBigkeyAutoscanConfig",
    ("put", "/v2/{project_id}/instances/{instance_id}/bigkey/autoscan"):
        "UpdateBigkeyAutoscanConfig",
    ("post", "/v2/{project_id}/instances/{instance_id}/hotkey-task"): "CreateHotkeyScanTask",
    ("get", "/v2/{project_id}/instances/{instance_id}/hotkey-tasks"): "ListHotKeyScanTasks",
    ("get", "/v2/{project_id}/instances/{instance_id}/hotkey-task/{hotkey_id}"):
        "ShowHotkeyTaskDetails",
    ("delete", "/v2/{project_id}/instances/{instance_id}/hotkey-task/{hotkey_id}"):
        "DeleteHotkeyScanTask",
    ("get", "/v2/{project_id}/instances/{instance_id}/hotkey/autoscan"):
        "ShowHotkeyAutoscanConfig",
    ("put", "/v2/{project_id}/instances/{instance_id}/hotkey/autoscan"):
        "UpdateHotkeyAutoScanConfig",
    ("post", "/v2/{project_id}/instances/{instance_id}/hotkey/{task_id}/export"):
        "DownloadHotKey",
    ("post", "/v2/{project_id}/instances/{instance_id}/scan-expire-keys-task"):
        "CreateAutoExpireScanTask",
    ("post", "/v2/{project_id}/instances/{instance_id}/auto-expire/scan"): "ScanExpireKey",
    ("get", "/v2/{project_id}/instances/{instance_id}/auto-expire/histories"):
        "ShowExpireKeyScanInfo",
    ("get", "/v2/{project_id}/instances/{instance_id}/scan-expire-keys/autoscan-config"):
        "ShowExpireAutoScanConfig",
    ("put", "/v2/{project_id}/instances/{instance_id}/scan-expire-keys/autoscan-config"):
        "UpdateExpireAutoScanConfig",
    ("get", "/v2/{project_id}/instances/{instance_id}/logical-nodes"): "ShowNodesInformation",
    ("get", "/v2/{project_id}/instances-logical-nodes"): "BatchShowNodesInformation",
    ("get", "/v2/{project_id}/instance/{instance_id}/groups"): "ListGroupReplicationInfo",
    ("get", "/v2/{project_id}/instance/{instance_id}/groups/{group_id}/group-nodes-state"):
        "ShowReplicationStates",
    ("get", "/v2/{project_id}/instances/{instance_id}/nodes"): "ShowInstanceTopology",
}  # fmt: skip


def test_every_dcs_path_has_its_dcs_operation_id(tmp_path: Path) -> None:
    spec = create_app(Settings(data_dir=tmp_path)).openapi()
    found = {
        (method, path): operation["operationId"]
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    }
    assert {key: found.get(key) for key in DCS_OPERATIONS} == DCS_OPERATIONS
