"""Big-key analysis, DCS operations #1-#6."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

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
from keyscope.api.schemas.scans import AutoscanConfigIn, AutoscanConfigOut, RecordsOut, ScanTaskOut
from keyscope.domain.tasks import TaskKind, TaskStatus
from keyscope.store import tasks as task_queries

router = APIRouter(prefix="/v2/{project_id}/instances/{instance_id}", tags=["bigkeys"])
KIND = TaskKind.BIGKEY


@router.post(
    "/bigkey-task", operation_id="CreateBigkeyScanTask", response_model=ScanTaskOut,
    response_model_exclude_none=True,
)  # fmt: skip
def create_bigkey_scan_task(instance: InstanceDep, runner: RunnerDep) -> ScanTaskOut:
    return _scans.create(runner, instance, KIND)


@router.get("/bigkey-tasks", operation_id="ListBigkeyScanTasks", response_model=RecordsOut)
async def list_bigkey_scan_tasks(
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
    "/bigkey-task/{bigkey_id}", operation_id="ShowBigkeyScanTaskDetails",
    response_model=ScanTaskOut, response_model_exclude_none=True,
)  # fmt: skip
async def show_bigkey_scan_task_details(
    project_id: ProjectId,
    instance_id: InstanceId,
    services: ServicesDep,
    bigkey_id: Annotated[str, Path()],
) -> ScanTaskOut:
    with quick_instance_read(services, project_id, instance_id) as (session, instance):
        row = task_queries.get_task(session, instance.id, KIND, bigkey_id)
        return _scans.present_task(row, with_keys=True)


@router.delete(
    "/bigkey-task/{bigkey_id}", operation_id="DeleteBigkeyScanTask",
    response_model=ScanTaskOut, response_model_exclude_none=True,
)  # fmt: skip
def delete_bigkey_scan_task(
    instance: InstanceDep,
    session: SessionDep,
    runner: RunnerDep,
    bigkey_id: Annotated[str, Path()],
) -> ScanTaskOut:
    return _scans.delete(session, runner, instance, KIND, bigkey_id)


@router.get(
    "/bigkey/autoscan", operation_id="ShowBigkeyAutoscanConfig", response_model=AutoscanConfigOut
)
def show_bigkey_autoscan_config(
    instance: InstanceDep, session: SessionDep, services: ServicesDep
) -> AutoscanConfigOut:
    return _scans.show_config(session, instance, KIND, services.clock)


@router.put(
    "/bigkey/autoscan", operation_id="UpdateBigkeyAutoscanConfig", response_model=AutoscanConfigOut
)
def update_bigkey_autoscan_config(
    instance: InstanceDep, session: SessionDep, services: ServicesDep, body: AutoscanConfigIn
) -> AutoscanConfigOut:
    return _scans.update_config(session, instance, KIND, body, services.clock)


@router.get(
    "/bigkey-task/{bigkey_id}/diff",
    operation_id="ShowBigkeyScanTaskDiff",
    response_model=dict[str, Any],
)
def show_bigkey_scan_task_diff(
    instance: InstanceDep,
    session: SessionDep,
    bigkey_id: Annotated[str, Path()],
    base: _diff.BaseId,
    top: _diff.Top = defaults.DIFF_TOP,
) -> dict[str, Any]:
    """keyscope extension: what changed from scan ``base`` to this one."""
    return _diff.diff_tasks(session, instance, KIND, bigkey_id, base, top=top)
