"""Queries on analysis tasks of one instance and kind (state changes live in tasks.lifecycle)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from keyscope.domain import codes
from keyscope.domain.errors import NotFound
from keyscope.domain.tasks import TaskKind, TaskStatus
from keyscope.store.tables import TaskRow


def get_task(session: Session, instance_id: str, kind: TaskKind, task_id: str) -> TaskRow:
    row = session.scalar(
        select(TaskRow).where(
            TaskRow.id == task_id, TaskRow.instance_id == instance_id, TaskRow.kind == kind.value
        )
    )
    if row is None:
        raise NotFound(f"{kind.value} task {task_id} not found", code=codes.TASK_NOT_FOUND)
    return row


def list_tasks(
    session: Session,
    instance_id: str,
    kind: TaskKind,
    *,
    status: TaskStatus | None = None,
    offset: int = 0,
    limit: int = 10,
) -> tuple[int, list[TaskRow]]:
    """A page of tasks, newest first, and the number of all that match."""
    conditions = [TaskRow.instance_id == instance_id, TaskRow.kind == kind.value]
    if status is not None:
        conditions.append(TaskRow.status == status.value)
    total = session.scalar(select(func.count()).select_from(TaskRow).where(*conditions)) or 0
    rows = session.scalars(
        select(TaskRow)
        .where(*conditions)
        .order_by(TaskRow.created_at.desc(), TaskRow.id)
        .offset(offset)
        .limit(limit)
    )
    return total, list(rows)


def delete_task(session: Session, task: TaskRow) -> None:
    session.delete(task)
    session.flush()
