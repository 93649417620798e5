"""Offline full-key analysis of one node's backup, DCS operations #19-#22."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from sqlalchemy.orm import Session

from keyscope import defaults
from keyscope.api.deps import InstanceDep, RunnerDep, SessionDep
from keyscope.api.routes import _diff
from keyscope.api.schemas.common import format_time
from keyscope.api.schemas.offline import (
    OfflineAnalysisIn,
    OfflineRecordOut,
    OfflineRecordsOut,
    OfflineTaskId,
    OfflineTaskOut,
)
from keyscope.domain import codes
from keyscope.domain.errors import Conflict, InvalidInput, NotFound
from keyscope.domain.tasks import ScanType, TaskKind, TaskStatus
from keyscope.store import backups as backup_queries
from keyscope.store import tasks as task_queries
from keyscope.store.tables import BackupRow, InstanceRow, NodeRow, TaskRow
from keyscope.tasks import offline as _executor  # noqa: F401  (registers the executor)
from keyscope.tasks.backups import UNFINISHED
from keyscope.tasks.offline import ALL_SHARDS
from keyscope.tasks.runner import TaskRunner

router = APIRouter(prefix="/v2/{project_id}/instances/{instance_id}", tags=["offline"])
KIND = TaskKind.OFFLINE


def present(row: TaskRow) -> OfflineTaskOut:
    params: dict[str, Any] = dict(row.params or {})
    result: dict[str, Any] = dict(row.result or {}) if row.status == TaskStatus.SUCCESS else {}
    return OfflineTaskOut.model_validate(
        {
            "id": row.id,
            "instance_id": row.instance_id,
            "node_id": params.get("node_id"),
            "backup_id": params.get("backup_id"),
            "group_name": params.get("group_name"),
            "node_ip": params.get("node_ip"),
            "node_type": params.get("node_type"),
            "analysis_type": params.get("analysis_type"),
            "started_at": format_time(row.started_at),
            "finished_at": format_time(row.finished_at),
            "status": row.status,
            "created_at": format_time(row.created_at),
            "reason": row.reason,
            **result,
        }
    )


@router.post(
    "/offline/key-analysis", operation_id="CreateOfflineKeyAnalysis", response_model=OfflineTaskId
)
def create_offline_key_analysis(
    instance: InstanceDep, session: SessionDep, runner: RunnerDep, body: OfflineAnalysisIn
) -> OfflineTaskId:
    if body.node_id == ALL_SHARDS:
        return _create_cluster_wide(instance, session, runner, body)
    node = next((n for n in instance.nodes if n.node_id == body.node_id), None)
    position = None
    if body.backup_id:
        node, position = _file_to_read(session, instance.id, node, body)
    elif node is None:
        raise NotFound(f"node {body.node_id} not found", code=codes.NODE_NOT_FOUND)
    elif backup_queries.count_backups(session, instance.id) >= runner.max_backups_per_instance:
        raise InvalidInput(  # the analysis would take one more backup
            f"the instance holds {runner.max_backups_per_instance} backups, the most it may:"
            " delete some first", code=codes.BACKUP_LIMIT_REACHED,
        )  # fmt: skip
    params = {
        "node_id": node.node_id,
        "node_ip": node.host,
        "node_port": node.port,
        "node_type": node.role,
        "group_id": node.group_id,
        "group_name": node.group_name,
        "backup_id": body.backup_id or None,
        "backup_file": position,
        "analysis_type": "old_backup" if body.backup_id else "new_backup",
    }
    row = runner.create(instance, KIND, ScanType.MANUAL, params=params)
    return OfflineTaskId(task_id=row.id)


def _create_cluster_wide(instance: InstanceRow, session: Session, runner: TaskRunner,
                         body: OfflineAnalysisIn) -> OfflineTaskId:  # fmt: skip
    """``node_id`` "all": one report over every shard file of a taken backup."""
    if not body.backup_id:
        raise InvalidInput('"node_id": "all" reads the shards of a backup: give its backup_id',
                           code=codes.INVALID_FIELD)  # fmt: skip
    backup = _taken_backup(session, instance.id, body.backup_id)
    if not backup.files:
        raise InvalidInput(f"backup {backup.id} holds no file", code=codes.BACKUP_NODE_NOT_HELD)
    params = {
        "node_id": ALL_SHARDS,
        "backup_id": backup.id,
        "analysis_type": "old_backup",
    }
    row = runner.create(instance, KIND, ScanType.MANUAL, params=params)
    return OfflineTaskId(task_id=row.id)


def _taken_backup(session: Session, instance_id: str, backup_id: str) -> BackupRow:
    backup = backup_queries.get_backup(session, instance_id, backup_id)
    if backup.status in UNFINISHED:
        raise Conflict(f"backup {backup.id} is still being taken ({backup.status})",
                       code=codes.BACKUP_IN_PROGRESS)  # fmt: skip
    if backup.status != "succeed":
        raise InvalidInput(f"backup {backup.id} is {backup.status}, not succeed",
                           code=codes.INVALID_FIELD)  # fmt: skip
    return backup


def _file_to_read(session: Session, instance_id: str, node: NodeRow | None,
                  body: OfflineAnalysisIn) -> tuple[NodeRow, int]:  # fmt: skip
    """The node and the backup's file it reads: the backup must be taken and hold the node."""
    backup = _taken_backup(session, instance_id, str(body.backup_id))
    if node is None:  # not a node of the instance: nothing of it in the backup either
        raise InvalidInput(f"backup {backup.id} holds no file of node {body.node_id}",
                           code=codes.BACKUP_NODE_NOT_HELD)  # fmt: skip
    return node, backup_queries.file_of_node(backup, node.node_id, node.group_id).position


@router.get(
    "/offline/key-analysis", operation_id="ListOfflineKeyAnalysisTask",
    response_model=OfflineRecordsOut,
)  # fmt: skip
def list_offline_key_analysis_task(
    instance: InstanceDep,
    session: SessionDep,
    offset: Annotated[int, Query(ge=0, le=defaults.MAX_LIST_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=0, le=1000)] = defaults.DEFAULT_LIST_LIMIT,
    status: TaskStatus | None = None,
) -> OfflineRecordsOut:
    total, rows = task_queries.list_tasks(
        session, instance.id, KIND, status=status, offset=offset, limit=limit
    )
    records = [
        OfflineRecordOut(
            id=r.id,
            status=r.status,
            created_at=format_time(r.created_at),
            started_at=format_time(r.started_at),
            finished_at=format_time(r.finished_at),
        )
        for r in rows
    ]
    return OfflineRecordsOut(instance_id=instance.id, total=total, records=records)


@router.get(
    "/offline/key-analysis/{task_id}", operation_id="ShowOfflineKeyAnalysisTask",
    response_model=OfflineTaskOut, response_model_exclude_none=True,
)  # fmt: skip
def show_offline_key_analysis_task(
    instance: InstanceDep, session: SessionDep, task_id: Annotated[str, Path()]
) -> OfflineTaskOut:
    return present(task_queries.get_task(session, instance.id, KIND, task_id))


@router.delete(
    "/offline/key-analysis/{task_id}", operation_id="DeleteOfflineKeyAnalysisTask",
    response_model=OfflineTaskId,
)  # fmt: skip
def delete_offline_key_analysis_task(
    instance: InstanceDep,
    session: SessionDep,
    runner: RunnerDep,
    task_id: Annotated[str, Path()],
) -> OfflineTaskId:
    row = task_queries.get_task(session, instance.id, KIND, task_id)
    runner.cancel(row.id)
    task_queries.delete_task(session, row)
    session.commit()
    return OfflineTaskId(task_id=task_id)


@router.get(
    "/offline/key-analysis/{task_id}/diff", operation_id="ShowOfflineKeyAnalysisDiff",
    response_model=dict[str, Any],
)  # fmt: skip
def show_offline_key_analysis_diff(
    instance: InstanceDep,
    session: SessionDep,
    task_id: Annotated[str, Path()],
    base: _diff.BaseId,
    top: _diff.Top = defaults.DIFF_TOP,
) -> dict[str, Any]:
    """keyscope extension: what changed from analysis ``base`` to this one."""
    return _diff.diff_tasks(session, instance, KIND, task_id, base, top=top)
