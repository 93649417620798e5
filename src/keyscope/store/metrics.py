"""Aggregates over the task table that the metrics endpoint publishes."""

from __future__ import annotations

from dataclasses import dataclass

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


def latest_successes(session: Session, max_instances: int) -> tuple[list[TaskRow], int]:
    """The latest successful task of each kind on each instance, for at most
    ``max_instances`` instances (those with the most recent success first), and how many
    instances were left out."""
    latest = (
        select(TaskRow.instance_id, TaskRow.kind, func.max(TaskRow.finished_at).label("at"))
        .where(TaskRow.status == TaskStatus.SUCCESS.value, TaskRow.finished_at.is_not(None))
        .group_by(TaskRow.instance_id, TaskRow.kind)
        .subquery()
    )
    rows = session.scalars(
        select(TaskRow)
        .join(
            latest,
            (TaskRow.instance_id == latest.c.instance_id)
            & (TaskRow.kind == latest.c.kind)
            & (TaskRow.finished_at == latest.c.at),
        )
        .where(TaskRow.status == TaskStatus.SUCCESS.value)
    ).all()
    newest: dict[tuple[str, str], TaskRow] = {}
    for row in rows:  # two tasks finished in the same instant: either is the latest
        newest.setdefault((row.instance_id, row.kind), row)
    last_by_instance: dict[str, float] = {}
    for (instance_id, _), row in newest.items():
        at = row.finished_at.timestamp() if row.finished_at else 0.0
        last_by_instance[instance_id] = max(last_by_instance.get(instance_id, 0.0), at)
    kept = set(sorted(last_by_instance, key=lambda i: (-last_by_instance[i], i))[:max_instances])
    chosen = [r for (i, _), r in sorted(newest.items()) if i in kept]
    return chosen, len(last_by_instance) - len(kept)
