"""Expired-key scans, DCS operations #14-#18 (no detail or delete operation exists)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

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
from keyscope.api.schemas.common import format_time
from keyscope.api.schemas.expire import (
    ExpireConfigIn,
    ExpireConfigOut,
    ExpireHistoryOut,
    ExpireRecordOut,
    ExpireScanOut,
    format_first_scan_at,
    parse_first_scan_at,
)
from keyscope.domain import codes
from keyscope.domain.errors import InvalidInput
from keyscope.domain.tasks import ScanType, TaskKind, TaskStatus
from keyscope.store import schedules
from keyscope.store import tasks as task_queries
from keyscope.store.tables import ExpireAutoscanConfigRow, InstanceRow, TaskRow
from keyscope.tasks.runner import TaskRunner

router = APIRouter(prefix="/v2/{project_id}/instances/{instance_id}", tags=["expire"])
KIND = TaskKind.EXPIRE


def _present_scan(row: TaskRow) -> ExpireScanOut:
    return ExpireScanOut(
        id=row.id,
        instance_id=row.instance_id,
        status=row.status,
        scan_type=row.scan_type,
        created_at=format_time(row.created_at),
        started_at=format_time(row.started_at),
        finished_at=format_time(row.finished_at),
    )


def _present_config(row: ExpireAutoscanConfigRow) -> ExpireConfigOut:
    return ExpireConfigOut(
        instance_id=row.instance_id,
        enable_auto_scan=row.enable_auto_scan,
        first_scan_at=format_first_scan_at(row.first_scan_at),
        interval=row.interval,
        timeout=row.timeout,
        scan_keys_count=row.scan_keys_count,
        updated_at=format_time(row.updated_at),
    )


def _start_scan(
    session: SessionDep, runner: TaskRunner, instance: InstanceRow, services: ServicesDep
) -> ExpireScanOut:
    config = session.get(ExpireAutoscanConfigRow, instance.id)
    params: dict[str, Any] | None = None
    if config is not None:
        params = {"scan_keys_count": config.scan_keys_count, "timeout": config.timeout}
    return _present_scan(runner.create(instance, KIND, ScanType.MANUAL, params=params))


@router.post(
    "/scan-expire-keys-task", operation_id="CreateAutoExpireScanTask",
    response_model=ExpireScanOut, response_model_exclude_none=True,
)  # fmt: skip
def create_auto_expire_scan_task(
    instance: InstanceDep, session: SessionDep, runner: RunnerDep, services: ServicesDep
) -> ExpireScanOut:
    return _start_scan(session, runner, instance, services)


@router.post(
    "/auto-expire/scan", operation_id="ScanExpireKey",
    response_model=ExpireScanOut, response_model_exclude_none=True,
)  # fmt: skip
def scan_expire_key(
    instance: InstanceDep, session: SessionDep, runner: RunnerDep, services: ServicesDep
) -> ExpireScanOut:
    return _start_scan(session, runner, instance, services)


@router.get(
    "/auto-expire/histories", operation_id="ShowExpireKeyScanInfo",
    response_model=ExpireHistoryOut, response_model_exclude_none=True,
)  # fmt: skip
async def show_expire_key_scan_info(
    *,
    project_id: ProjectId,
    instance_id: InstanceId,
    services: ServicesDep,
    offset: Annotated[int, Query(ge=0, le=defaults.MAX_LIST_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=0, le=1000)] = defaults.DEFAULT_LIST_LIMIT,
    status: TaskStatus | None = None,
) -> ExpireHistoryOut:
    with quick_instance_read(services, project_id, instance_id) as (session, instance):
        total, rows = task_queries.list_tasks(
            session, instance.id, KIND, status=status, offset=offset, limit=limit
        )
        records = [
            ExpireRecordOut(
                id=r.id,
                instance_id=r.instance_id,
                status=r.status,
                scan_type=r.scan_type,
                num=r.num,
                created_at=format_time(r.created_at),
                started_at=format_time(r.started_at),
                finished_at=format_time(r.finished_at),
                reason=r.reason,
                scanned_keys=(r.result or {}).get("scanned_keys"),
                nodes=(r.result or {}).get("nodes"),
            )
            for r in rows
        ]
        return ExpireHistoryOut(instance_id=instance.id, total=total, count=total, records=records)


@router.get(
    "/scan-expire-keys/autoscan-config", operation_id="ShowExpireAutoScanConfig",
    response_model=ExpireConfigOut,
)  # fmt: skip
def show_expire_auto_scan_config(
    instance: InstanceDep, session: SessionDep, services: ServicesDep
) -> ExpireConfigOut:
    return _present_config(schedules.expire_config(session, instance.id, now=services.clock()))


@router.put(
    "/scan-expire-keys/autoscan-config", operation_id="UpdateExpireAutoScanConfig",
    response_model=ExpireConfigOut,
)  # fmt: skip
def update_expire_auto_scan_config(
    instance: InstanceDep, session: SessionDep, services: ServicesDep, body: ExpireConfigIn
) -> ExpireConfigOut:
    row = schedules.expire_config(session, instance.id, now=services.clock())
    if body.enable_auto_scan is not None:
        row.enable_auto_scan = body.enable_auto_scan
    if body.first_scan_at is not None:
        row.first_scan_at = parse_first_scan_at(body.first_scan_at)
    if body.interval is not None:
        row.interval = body.interval
    if body.timeout is not None:
        row.timeout = body.timeout
    if body.scan_keys_count is not None:
        row.scan_keys_count = body.scan_keys_count
    _validate(row)
    row.updated_at = services.clock()
    session.add(row)
    session.commit()
    return _present_config(row)


def _validate(row: ExpireAutoscanConfigRow) -> None:
    """The rules of the DCS page: timeout ≥ 2 × interval; enabling needs a first scan time."""
    if row.timeout < 2 * row.interval:
        raise InvalidInput(
            f"timeout ({row.timeout} s) must be at least twice the interval ({row.interval} s)",
            code=codes.INVALID_FIELD,
        )
    if row.enable_auto_scan and row.first_scan_at is None:
        raise InvalidInput(
            "first_scan_at is required to enable the auto scan", code=codes.INVALID_FIELD
        )
