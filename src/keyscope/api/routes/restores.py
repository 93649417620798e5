"""Restores, DCS operations #32-#33: a stored backup written back with ``RESTORE``.

The backup may be any succeeded backup of the project (a copy of one deployment restored into
another is the common case). Refused up front: a backup whose format the instance cannot
load, and an instance that holds keys already unless ``force`` (a keyscope extension) asks
to overwrite them. A restore runs as a task with the analyses' lifecycle; its record speaks
DCS's vocabulary (``waiting`` | ``restoring`` | ``succeed`` | ``failed``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from keyscope import defaults
from keyscope.api.deps import InstanceDep, RunnerDep, SessionDep
from keyscope.api.schemas.common import format_time
from keyscope.api.schemas.restores import RestoreId, RestoreIn, RestoreListOut, RestoreRecordOut
from keyscope.domain import codes
from keyscope.domain.errors import Conflict, InvalidInput, NotFound
from keyscope.domain.tasks import ScanType, TaskKind, TaskStatus
from keyscope.rdb.payloads import rdb_version
from keyscope.redis.restore import KEY_EXISTS, check_format, keys_present
from keyscope.store import tasks as task_queries
from keyscope.store.tables import BackupRow, InstanceRow, TaskRow
from keyscope.tasks import restores as _executor  # noqa: F401  (registers the executor)

router = APIRouter(prefix="/v2/{project_id}/instances/{instance_id}", tags=["restores"])
KIND = TaskKind.RESTORE
DCS_STATUS = {
    TaskStatus.WAITING: "waiting",
    TaskStatus.RUNNING: "restoring",
    TaskStatus.SUCCESS: "succeed",
    TaskStatus.FAILED: "failed",
}


def _backup(session: Session, instance: InstanceRow, backup_id: str) -> BackupRow:
    row = session.get(BackupRow, backup_id)
    owner = session.get(InstanceRow, row.instance_id) if row is not None else None
    if row is None or owner is None or owner.project_id != instance.project_id:
        raise NotFound(f"backup {backup_id} not found", code=codes.BACKUP_NOT_FOUND)
    if row.status != "succeed" or not any(f.path for f in row.files):
        raise InvalidInput(f"backup {backup_id} is {row.status}, not succeed",
                           code=codes.INVALID_FIELD)  # fmt: skip
    return row


@router.post("/restores", operation_id="RestoreInstance", response_model=RestoreId)
def restore_instance(
    instance: InstanceDep, session: SessionDep, runner: RunnerDep, body: RestoreIn
) -> RestoreId:
    backup = _backup(session, instance, body.backup_id)
    topology = runner.topology_of(instance)
    paths = [f.path for f in backup.files if f.path]  # one file per shard of the backup
    for path in paths:
        valkey, version = rdb_version(path)
        check_format(topology, valkey_magic=valkey, rdb_version=version)
    if not body.force:
        present = keys_present(topology, runner.auth_of(instance))
        if present:
            raise Conflict(f"instance {instance.id} holds {present} keys already; restore "
                           "with \"force\": true to overwrite the backup's keys",
                           code=KEY_EXISTS)  # fmt: skip
    params = {
        "backup_id": backup.id,
        "backup_paths": paths,
        "backup_remark": backup.remark,
        "backup_name": f"{backup.created_at.strftime('%Y%m%d%H%M%S')}_{backup.id[:8]}",
        "remark": body.remark,
        "force": body.force,
    }
    row = runner.create(instance, KIND, ScanType.MANUAL, params=params)
    return RestoreId(restore_id=row.id)


def present(row: TaskRow) -> RestoreRecordOut:
    params: dict[str, Any] = dict(row.params or {})
    status = TaskStatus(row.status)
    return RestoreRecordOut(
        backup_id=params.get("backup_id"),
        restore_id=row.id,
        backup_name=params.get("backup_name"),
        updated_at=format_time(row.finished_at or row.heartbeat_at or row.started_at),
        restore_remark=params.get("remark"),
        created_at=format_time(row.created_at),
        progress="100.00" if status is TaskStatus.SUCCESS else "0.00",
        error_code="dcs.08.0007" if status is TaskStatus.FAILED else None,
        restore_name=f"restore_{row.id[:8]}",
        backup_remark=params.get("backup_remark"),
        status=DCS_STATUS[status],
        reason=row.reason if status is TaskStatus.FAILED else None,
        restored_keys=row.keys_scanned,
    )


@router.get("/restores", operation_id="ListRestoreRecords", response_model=RestoreListOut)
def list_restore_records(
    instance: InstanceDep,
    session: SessionDep,
    offset: Annotated[int, Query(ge=0, le=defaults.MAX_LIST_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=0, le=1000)] = defaults.DEFAULT_LIST_LIMIT,
) -> RestoreListOut:
    total, rows = task_queries.list_tasks(session, instance.id, KIND, offset=offset, limit=limit)
    return RestoreListOut(total_num=total, restore_record_response=[present(r) for r in rows])
