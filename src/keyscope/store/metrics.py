"""Aggregates over the task table that the metrics endpoint publishes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from keyscope.domain.tasks import TaskStatus
from keyscope.store.tables import TaskRow


@dataclass(frozen=True, slots=True)
class KindTotals:
    """Finished-task figures of one analysis kind."""

    kind: str
    keys_scanned: int
    finished: int
    duration_s: float


def ping(session: Session) -> None:
    """Raise if the database does not answer."""
    session.execute(text("SELECT 1"))


def tasks_by_kind_and_status(session: Session) -> list[tuple[str, str, int]]:
    rows = session.execute(
        select(TaskRow.kind, TaskRow.status, func.count()).group_by(TaskRow.kind, TaskRow.status)
    )
    return [(str(kind), str(status), int(n)) for kind, status, n in rows]


def finished_totals(session: Session) -> list[KindTotals]:
    """Keys scanned and time spent by tasks that ran to an end, per kind."""
    rows = session.execute(
        select(TaskRow.kind, TaskRow.keys_scanned, TaskRow.started_at, TaskRow.finished_at).where(
            TaskRow.started_at.is_not(None), TaskRow.finished_at.is_not(None)
        )
    )
    totals: dict[str, list[float]] = {}
    for kind, keys, started, finished in rows:
        entry = totals.setdefault(str(kind), [0, 0, 0.0])
        entry[0] += int(keys or 0)
        entry[1] += 1
        if started is not None and finished is not None:
            entry[2] += max((finished - started).total_seconds(), 0.0)
    return [KindTotals(k, int(v[0]), int(v[1]), v[2]) for k, v in sorted(totals.items())]


@dataclass(frozen=True, slots=True)
class LatestTask:
    """The latest successful task of one kind on one instance (its result read apart)."""

    id: str
    instance_id: str
    kind: str
    finished_at: datetime


def latest_successes(session: Session, max_instances: int) -> tuple[list[LatestTask], int]:
    """The latest successful task of each kind on each instance, for at most
    ``max_instances`` instances (those with the most recent success first), and how many
    instances were left out. Results are not loaded: ``task_results`` reads those needed."""
    latest = (
        select(TaskRow.instance_id, TaskRow.kind, func.max(TaskRow.finished_at).label("at"))
        .where(TaskRow.status == TaskStatus.SUCCESS.value, TaskRow.finished_at.is_not(None))
        .group_by(TaskRow.instance_id, TaskRow.kind)
        .subquery()
    )
    rows = session.execute(
        select(TaskRow.id, TaskRow.instance_id, TaskRow.kind, TaskRow.finished_at)
        .join(
            latest,
            (TaskRow.instance_id == latest.c.instance_id)
            & (TaskRow.kind == latest.c.kind)
            & (TaskRow.finished_at == latest.c.at),
        )
        .where(TaskRow.status == TaskStatus.SUCCESS.value)
        .order_by(TaskRow.id)
    ).all()
    newest: dict[tuple[str, str], LatestTask] = {}
    for task_id, instance_id, kind, finished_at in rows:  # a tie in time: either is the latest
        if finished_at is not None:
            newest.setdefault(
                (instance_id, kind), LatestTask(task_id, instance_id, kind, finished_at)
            )
    last_by_instance: dict[str, float] = {}
    for (instance_id, _), task in newest.items():
        at = task.finished_at.timestamp()
        last_by_instance[instance_id] = max(last_by_instance.get(instance_id, 0.0), at)
    kept = set(sorted(last_by_instance, key=lambda i: (-last_by_instance[i], i))[:max_instances])
    chosen = [t for (i, _), t in sorted(newest.items()) if i in kept]
    return chosen, len(last_by_instance) - len(kept)


def task_results(session: Session, task_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The stored results of these tasks, by id."""
    out: dict[str, dict[str, Any]] = {}
    for start in range(0, len(task_ids), 500):  # bound the IN list
        chunk = task_ids[start : start + 500]
        for task_id, result in session.execute(
            select(TaskRow.id, TaskRow.result).where(TaskRow.id.in_(chunk))
        ):
            out[str(task_id)] = dict(result or {})
    return out
