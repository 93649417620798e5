"""What the three ``.../diff?base=`` routes share: both tasks found, finished, then diffed."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from sqlalchemy.orm import Session

from keyscope import defaults
from keyscope.analysis.diff import diff_offline, diff_scans
from keyscope.domain import codes
from keyscope.domain.errors import InvalidInput
from keyscope.domain.tasks import TaskKind, TaskStatus
from keyscope.store import tasks as task_queries
from keyscope.store.tables import InstanceRow, TaskRow

BaseId = Annotated[str, Query(min_length=1, max_length=64, description="The earlier task's id.")]
Top = Annotated[int, Query(ge=1, le=1000, description="Rows per list of changes.")]


def _finished(session: Session, instance: InstanceRow, kind: TaskKind, task_id: str) -> TaskRow:
    row = task_queries.get_task(session, instance.id, kind, task_id)
    if row.status != TaskStatus.SUCCESS.value:
        raise InvalidInput(f"task {task_id} is {row.status}: only finished analyses compare",
                           code=codes.INVALID_FIELD)  # fmt: skip
    return row


def diff_tasks(
    session: Session, instance: InstanceRow, kind: TaskKind, task_id: str, base: str, *, top: int
) -> dict[str, Any]:
    """The change from task ``base`` to task ``task_id``, both of ``kind`` on ``instance``."""
    new = _finished(session, instance, kind, task_id)
    old = _finished(session, instance, kind, base)
    before: dict[str, Any] = dict(old.result or {})
    after: dict[str, Any] = dict(new.result or {})
    if kind is TaskKind.OFFLINE:
        out = diff_offline(before, after, top=top, listed_limit=defaults.OFFLINE_TOP_PREFIXES)
    else:
        out = diff_scans(before, after, kind=kind.value, top=top)
    return {"task_id": task_id, "base": base, **out}
