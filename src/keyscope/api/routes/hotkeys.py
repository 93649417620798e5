"""Hot-key analysis, DCS operations #7-#13 (#13 exports a result as CSV or JSON)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from keyscope import defaults
from keyscope.api.deps import (
    InstanceDep,
    InstanceId,
    ProjectId,
    RunnerDep,
    ServicesDep,
    SessionDep,
    quick_instance_read,
)
from keyscope.api.routes import _diff, _scans
from keyscope.api.schemas.exports import ExportFormat, export_keys
from keyscope.api.schemas.scans import AutoscanConfigIn, AutoscanConfigOut, RecordsOut, ScanTaskOut
from keyscope.domain.tasks import TaskKind, TaskStatus
from keyscope.store import tasks as task_queries

router = APIRouter(prefix="/v2/{project_id}/instances/{instance_id}", tags=["hotkeys"])
KIND = TaskKind.HOTKEY


@router.post(
    "/hotkey-task", operation_id="CreateHotkeyScanTask", response_model=ScanTaskOut,
    response_model_exclude_none=True,
)  # fmt: skip
def create_hotkey_scan_task(instance: InstanceDep, runner: RunnerDep) -> ScanTaskOut:
    return _scans.create(runner, instance, KIND)


@router.get("/hotkey-tasks", operation_id="ListHotKeyScanTasks", response_model=RecordsOut)
async def list_hot_key_scan_tasks(
    *,
    project_id: ProjectId,
    instance_id: InstanceId,
    services: ServicesDep,
    offset: Annotated[int, Query(ge=0, le=defaults.MAX_LIST_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=0, le=1000)] = defaults.DEFAULT_LIST_LIMIT,
    status: TaskStatus | None = None,
) -> RecordsOut:
    with quick_instance_read(services, project_id, instance_id) as (session, instance):
        return _scans.list_page(session, instance, KIND, status=status, offset=offset, limit=limit)


@router.get(
    "/hotkey-task/{hotkey_id}", operation_id="ShowHotkeyTaskDetails",
    response_model=ScanTaskOut, response_model_exclude_none=True,
)  # fmt: skip
async def show_hotkey_task_details(
    project_id: ProjectId,
    instance_id: InstanceId,
    services: ServicesDep,
    hotkey_id: Annotated[str, Path()],
) -> ScanTaskOut:
    with quick_instance_read(services, project_id, instance_id) as (session, instance):
        row = task_queries.get_task(session, instance.id, KIND, hotkey_id)
        return _scans.present_task(row, with_keys=True)


@router.delete(
    "/hotkey-task/{hotkey_id}", operation_id="DeleteHotkeyScanTask",
    response_model=ScanTaskOut, response_model_exclude_none=True,
)  # fmt: skip
def delete_hotkey_scan_task(
    instance: InstanceDep,
    session: SessionDep,
    runner: RunnerDep,
    hotkey_id: Annotated[str, Path()],
) -> ScanTaskOut:
    return _scans.delete(session, runner, instance, KIND, hotkey_id)


@router.get(
    "/hotkey/autoscan", operation_id="ShowHotkeyAutoscanConfig", response_model=AutoscanConfigOut
)
def show_hotkey_autoscan_config(
    instance: InstanceDep, session: SessionDep, services: ServicesDep
) -> AutoscanConfigOut:
    return _scans.show_config(session, instance, KIND, services.clock)


@router.put(
    "/hotkey/autoscan", operation_id="UpdateHotkeyAutoScanConfig", response_model=AutoscanConfigOut
)
def update_hotkey_auto_scan_config(
    instance: InstanceDep,
    session: SessionDep,
    services: ServicesDep,
    runner: RunnerDep,
    body: AutoscanConfigIn,
) -> AutoscanConfigOut:
    if body.enable_auto_scan:  # no schedule that could only ever fail: DCS.4922 now, not at 21:00
        runner.check_supported(instance, KIND)
    return _scans.update_config(session, instance, KIND, body, services.clock)


@router.post(
    "/hotkey/{task_id}/export", operation_id="DownloadHotKey",
    response_class=Response, responses={200: {"content": {"text/csv": {}, "application/json": {}}}},
)  # fmt: skip
def download_hot_key(
    instance: InstanceDep,
    session: SessionDep,
    task_id: Annotated[str, Path()],
    format: ExportFormat = ExportFormat.CSV,
) -> Response:
    row = task_queries.get_task(session, instance.id, KIND, task_id)
    return export_keys(row, format)


@router.get(
    "/hotkey-task/{hotkey_id}/diff",
    operation_id="ShowHotkeyScanTaskDiff",
    response_model=dict[str, Any],
)
def show_hotkey_scan_task_diff(
    instance: InstanceDep,
    session: SessionDep,
    hotkey_id: Annotated[str, Path()],
    base: _diff.BaseId,
    top: _diff.Top = defaults.DIFF_TOP,
) -> dict[str, Any]:
    """keyscope extension: what changed from scan ``base`` to this one."""
    return _diff.diff_tasks(session, instance, KIND, hotkey_id, base, top=top)
