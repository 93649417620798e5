"""What the big-key and hot-key routers share: the two analyses have identical shapes."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from keyscope.api.schemas.common import format_time
from keyscope.api.schemas.scans import (
    AutoscanConfigIn,
    AutoscanConfigOut,
    KeyOut,
    RecordOut,
    RecordsOut,
    ScanTaskOut,
)
from keyscope.domain.tasks import ScanType, TaskKind, TaskStatus
from keyscope.store import schedules
from keyscope.store import tasks as task_queries
from keyscope.store.tables import AutoscanConfigRow, InstanceRow, TaskRow
from keyscope.tasks.clock import Clock
from keyscope.tasks.runner import TaskRunner


def present_task(row: TaskRow, *, with_keys: bool) -> ScanTaskOut:
    keys: list[KeyOut] | None = None
    if with_keys and row.status == TaskStatus.SUCCESS.value:
        stored: list[dict[str, Any]] = list((row.result or {}).get("keys", []))
        keys = [KeyOut.model_validate(k) for k in stored]
    return ScanTaskOut(
        id=row.id,
        instance_id=row.instance_id,
        status=row.status,
        scan_type=row.scan_type,
        created_at=format_time(row.created_at),
        started_at=format_time(row.started_at),
        finished_at=format_time(row.finished_at),
        num=row.num,
        keys=keys,
        reason=row.reason,
        incomplete=(row.result or {}).get("incomplete") if keys is not None else None,
        measured=(row.result or {}).get("measured") or None if keys is not None else None,
    )


def present_config(row: AutoscanConfigRow) -> AutoscanConfigOut:
    return AutoscanConfigOut(
        instance_id=row.instance_id,
        enable_auto_scan=row.enable_auto_scan,
        schedule_at=list(row.schedule_at),
        updated_at=format_time(row.updated_at),
    )


def create(runner: TaskRunner, instance: InstanceRow, kind: TaskKind) -> ScanTaskOut:
    return present_task(runner.create(instance, kind, ScanType.MANUAL), with_keys=False)


def list_page(
    session: Session,
    instance: InstanceRow,
    kind: TaskKind,
    *,
    status: TaskStatus | None,
    offset: int,
    limit: int,
) -> RecordsOut:
    total, rows = task_queries.list_tasks(
        session, instance.id, kind, status=status, offset=offset, limit=limit
    )
    records = [
        RecordOut(
            id=r.id,
            status=r.status,
            scan_type=r.scan_type,
            created_at=format_time(r.created_at),
            started_at=format_time(r.started_at),
            finished_at=format_time(r.finished_at),
        )
        for r in rows
    ]
    return RecordsOut(instance_id=instance.id, count=total, records=records)


def delete(
    session: Session, runner: TaskRunner, instance: InstanceRow, kind: TaskKind, task_id: str
) -> ScanTaskOut:
    row = task_queries.get_task(session, instance.id, kind, task_id)
    shown = present_task(row, with_keys=False)
    runner.cancel(row.id)
    task_queries.delete_task(session, row)
    session.commit()
    return shown


def show_config(
    session: Session, instance: InstanceRow, kind: TaskKind, clock: Clock
) -> AutoscanConfigOut:
    return present_config(schedules.autoscan_config(session, instance.id, kind, now=clock()))


def update_config(
    session: Session, instance: InstanceRow, kind: TaskKind, body: AutoscanConfigIn, clock: Clock
) -> AutoscanConfigOut:
    row = schedules.autoscan_config(session, instance.id, kind, now=clock())
    row.enable_auto_scan = body.enable_auto_scan
    row.schedule_at = list(body.schedule_at)
    row.updated_at = clock()
    session.add(row)
    session.commit()
    return present_config(row)
