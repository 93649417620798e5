"""keyscope extension: an instance's history of finished analyses, as points to chart."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from keyscope.analysis.trends import trend_point
from keyscope.api.deps import InstanceDep, SessionDep
from keyscope.api.schemas.common import format_time
from keyscope.domain.tasks import TaskKind, TaskStatus
from keyscope.store import tasks as task_queries

ANALYSES = (TaskKind.BIGKEY, TaskKind.HOTKEY, TaskKind.EXPIRE, TaskKind.OFFLINE)

router = APIRouter(prefix="/v2/{project_id}/instances/{instance_id}", tags=["trends"])


@router.get("/analysis-trends", operation_id="ShowAnalysisTrends", response_model=dict[str, Any])
def show_analysis_trends(
    instance: InstanceDep,
    session: SessionDep,
    points: Annotated[int, Query(ge=1, le=500, description="Points per kind, newest.")] = 100,
) -> dict[str, Any]:
    """Per analysis kind, its latest successful analyses, oldest first, with their figures."""
    out: dict[str, Any] = {"instance_id": instance.id}
    for kind in ANALYSES:
        _total, rows = task_queries.list_tasks(
            session, instance.id, kind, status=TaskStatus.SUCCESS, offset=0, limit=points
        )
        series = [
            {"id": r.id, "scan_type": r.scan_type, "finished_at": format_time(r.finished_at),
             **trend_point(kind.value, r.result or {})}
            for r in rows
        ]  # fmt: skip
        series.sort(key=lambda p: p["finished_at"] or "")
        out[kind.value] = series
    return out
