"""Every state change of a task, persisted: waiting → running → success | failed.

Each transition is one conditional UPDATE (``WHERE status IN <allowed sources>``), so it is
atomic across threads and processes and a transition on a deleted task is a no-op that
returns False. One waiting or running task per instance and kind is a database rule (a
partial unique index); ``create`` turns its violation into ``Conflict`` (and a missing
instance into ``NotFound``).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from keyscope.domain import codes
from keyscope.domain.errors import Conflict, NotFound
from keyscope.domain.tasks import ScanType, TaskKind, TaskStatus
from keyscope.store.db import SessionFactory, transaction
from keyscope.store.tables import TaskRow

RESTARTED_REASON = "keyscope restarted while the task ran"
WORKER_LOST_REASON = "the worker running the task stopped (no heartbeat for {seconds:g} s)"

_ACTIVE = (TaskStatus.WAITING.value, TaskStatus.RUNNING.value)


def conflict_for(kind: TaskKind, instance_id: str) -> Conflict:
    return Conflict(
        f"a {kind.value} analysis is already waiting or running on instance {instance_id}"
    )


def active_task(factory: SessionFactory, instance_id: str, kind: TaskKind) -> str | None:
    """The id of the waiting or running task of ``kind`` on the instance, if any."""
    with factory() as session:
        return session.scalar(
            select(TaskRow.id).where(
                TaskRow.instance_id == instance_id,
                TaskRow.kind == kind.value,
                TaskRow.status.in_(_ACTIVE),
            )
        )


def _new_row(
    instance_id: str,
    kind: TaskKind,
    scan_type: ScanType,
    now: datetime,
    *,
    params: dict[str, Any] | None,
    status: TaskStatus,
) -> TaskRow:
    return TaskRow(
        id=str(uuid.uuid4()),
        instance_id=instance_id,
        kind=kind.value,
        status=status.value,
        scan_type=scan_type.value,
        created_at=now,
        num=0,
        keys_scanned=0,
        params=params,
    )


def create(
    factory: SessionFactory,
    *,
    instance_id: str,
    kind: TaskKind,
    scan_type: ScanType,
    now: datetime,
    params: dict[str, Any] | None = None,
) -> TaskRow:
    """A new waiting task; ``Conflict`` if one of the same kind is waiting or running."""
    row = _new_row(instance_id, kind, scan_type, now, params=params, status=TaskStatus.WAITING)
    try:
        with transaction(factory) as session:
            session.add(row)
    except IntegrityError as exc:
        if active_task(factory, instance_id, kind) is not None:
            raise conflict_for(kind, instance_id) from exc
        raise NotFound(f"instance {instance_id} not found", code=codes.INSTANCE_NOT_FOUND) from exc
    return row


def record_refused(
    factory: SessionFactory,
    *,
    instance_id: str,
    kind: TaskKind,
    scan_type: ScanType,
    now: datetime,
    reason: str,
    params: dict[str, Any] | None = None,
) -> TaskRow:
    """A task that was refused before it could run, stored as failed with the reason.

    A scheduled run leaves this record where a manual one would get the error: the history
    shows why a schedule did not produce a result.
    """
    row = _new_row(instance_id, kind, scan_type, now, params=params, status=TaskStatus.FAILED)
    row.finished_at = now
    row.reason = reason[:1024]
    with transaction(factory) as session:
        session.add(row)
    return row


def _move(
    factory: SessionFactory, task_id: str, sources: tuple[TaskStatus, ...], **values: Any
) -> bool:
    with transaction(factory) as session:
        result = session.execute(
            update(TaskRow)
            .where(TaskRow.id == task_id, TaskRow.status.in_([s.value for s in sources]))
            .values(**values)
        )
        return bool(getattr(result, "rowcount", 0))


def mark_running(factory: SessionFactory, task_id: str, *, now: datetime) -> bool:
    return _move(
        factory,
        task_id,
        (TaskStatus.WAITING,),
        status=TaskStatus.RUNNING.value,
        started_at=now,
        heartbeat_at=now,
    )


def heartbeat(factory: SessionFactory, task_id: str, *, now: datetime, keys_scanned: int) -> bool:
    return _move(
        factory, task_id, (TaskStatus.RUNNING,), heartbeat_at=now, keys_scanned=keys_scanned
    )


def mark_success(
    factory: SessionFactory,
    task_id: str,
    *,
    now: datetime,
    num: int,
    result: dict[str, Any] | None,
    keys_scanned: int,
) -> bool:
    return _move(
        factory,
        task_id,
        (TaskStatus.RUNNING,),
        status=TaskStatus.SUCCESS.value,
        finished_at=now,
        num=num,
        result=result,
        keys_scanned=keys_scanned,
    )


def mark_failed(factory: SessionFactory, task_id: str, *, now: datetime, reason: str) -> bool:
    """Fail a waiting or running task, keeping the reason (which must be safe to show)."""
    return _move(
        factory,
        task_id,
        (TaskStatus.WAITING, TaskStatus.RUNNING),
        status=TaskStatus.FAILED.value,
        finished_at=now,
        reason=reason[:1024],
    )


def recover_abandoned(factory: SessionFactory, *, now: datetime) -> int:
    """Mark failed every task a previous process left running; returns how many."""
    with transaction(factory) as session:
        result = session.execute(
            update(TaskRow)
            .where(TaskRow.status == TaskStatus.RUNNING.value)
            .values(status=TaskStatus.FAILED.value, finished_at=now, reason=RESTARTED_REASON)
        )
        return int(getattr(result, "rowcount", 0))


def waiting_task_ids(factory: SessionFactory) -> list[str]:
    with factory() as session:
        return list(
            session.scalars(
                select(TaskRow.id)
                .where(TaskRow.status == TaskStatus.WAITING.value)
                .order_by(TaskRow.created_at)
            )
        )


def fail_silent(
    factory: SessionFactory, *, now: datetime, silent_for: timedelta, keep: Collection[str] = ()
) -> list[str]:
    """Fail the running tasks whose heartbeat is older than ``silent_for`` (their worker
    died), except those in ``keep`` (the caller's own); the ids failed."""
    bound = now - silent_for
    with factory() as session:
        silent = [
            task_id
            for task_id in session.scalars(
                select(TaskRow.id).where(
                    TaskRow.status == TaskStatus.RUNNING.value, TaskRow.heartbeat_at < bound
                )
            )
            if task_id not in keep
        ]
    reason = WORKER_LOST_REASON.format(seconds=silent_for.total_seconds())
    return [task_id for task_id in silent if mark_failed(factory, task_id, now=now, reason=reason)]
