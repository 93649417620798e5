"""Aggregates over the task table that the metrics endpoint publishes."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

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
