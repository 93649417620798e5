"""Operations endpoints: ``/healthz`` for probes, ``/metrics`` in Prometheus text format.

Neither is signed (a probe or a scraper carries no DCS credential). ``/metrics`` counts
tasks per analysis kind and status, and publishes per-instance gauges from the latest
finished analysis of each kind (``analysis/gauges.py``): labelled by instance id, key type
and top prefix, never by a key name or a project, for at most ``METRICS_MAX_INSTANCES``.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy.orm import Session

from keyscope import defaults
from keyscope.analysis import gauges
from keyscope.api.deps import ServicesDep, SessionDep
from keyscope.domain import codes
from keyscope.domain.tasks import TaskKind, TaskStatus
from keyscope.store import faults, metrics

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@router.get("/healthz")
def healthz(session: SessionDep, services: ServicesDep) -> Response:
    """200 ``ok`` while the database answers and the folders take writes; 503 otherwise.

    ``status`` is ``unavailable`` when the database is down, ``degraded`` when it answers but
    the data or backups folder cannot be written (a full disk, a read-only mount); ``reason``
    says what is wrong. The state is probed on each call, so it clears by itself.
    """
    body: dict[str, str] = {"status": "ok", "database": "up"}
    problems: list[str] = []
    try:
        metrics.ping(session)
    except Exception as exc:  # the probe's answer is the point; the log has the cause
        body["database"] = "down"
        problems.append(faults.from_database(exc).message)
    runner = services.runner
    folders = {"data_dir": (runner.data_dir, "the data folder"),
               "backups_dir": (runner.backups_dir, "the backups folder")}  # fmt: skip
    for name, (folder, where) in folders.items():
        if name == "backups_dir" and not folder.exists():
            continue  # created with the first backup
        error = faults.probe_writable(folder, where)
        if error is not None:
            body[name] = "full" if error.code == codes.NO_SPACE_LEFT else "not writable"
            problems.append(error.message)
    if not problems:
        return JSONResponse(body)
    body["status"] = "unavailable" if body["database"] == "down" else "degraded"
    body["reason"] = "; ".join(problems)
    log.warning("health: %s", body["reason"])
    return JSONResponse(body, status_code=503)


@router.get("/metrics")
def prometheus_metrics(session: SessionDep, services: ServicesDep) -> Response:
    text = render(session) + render_instances(session, services.clock().timestamp())
    return PlainTextResponse(text, media_type=PROMETHEUS_CONTENT_TYPE)


class _GaugeCache:
    """The result gauges of finished tasks, by task id: a success's result never changes,
    so each is read and cut once, not at every scrape. Bounded, oldest dropped first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[str, list[gauges.Sample]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, task_id: str) -> list[gauges.Sample] | None:
        with self.lock:
            found = self.items.get(task_id)
            if found is not None:
                self.items.move_to_end(task_id)
            return found

    def put(self, task_id: str, samples: list[gauges.Sample]) -> None:
        with self.lock:
            self.items[task_id] = samples
            self.items.move_to_end(task_id)
            while len(self.items) > self.size:
                self.items.popitem(last=False)


_CACHE = _GaugeCache(4 * defaults.METRICS_MAX_INSTANCES)


def render_instances(session: Session, now_s: float) -> str:
    """The per-instance gauges, and how many instances were left out of them."""
    tasks, omitted = metrics.latest_successes(session, defaults.METRICS_MAX_INSTANCES)
    missing = [t.id for t in tasks if _CACHE.get(t.id) is None]
    results = metrics.task_results(session, missing) if missing else {}
    samples: list[gauges.Sample] = []
    for task in tasks:
        cut = _CACHE.get(task.id)
        if cut is None:
            cut = gauges.result_gauges(task.instance_id, task.kind, results.get(task.id, {}))
            _CACHE.put(task.id, cut)
        samples += cut
        samples += gauges.age_gauges(task.instance_id, task.kind,
                                     task.finished_at.timestamp(), now_s)  # fmt: skip
    lines = gauges.render_samples(samples)
    lines += [
        "# HELP keyscope_instance_gauges_omitted Instances left out of the per-instance "
        "gauges (beyond the most recently analysed ones).",
        "# TYPE keyscope_instance_gauges_omitted gauge",
        f"keyscope_instance_gauges_omitted {omitted}",
    ]
    return "\n".join(lines) + "\n"


def render(session: Session) -> str:
    counts = {(k, s): n for k, s, n in metrics.tasks_by_kind_and_status(session)}
    lines = [
        "# HELP keyscope_tasks Analysis tasks by kind and status.",
        "# TYPE keyscope_tasks gauge",
    ]
    for kind in TaskKind:
        for status in TaskStatus:
            n = counts.get((kind.value, status.value), 0)
            lines.append(f'keyscope_tasks{{kind="{kind.value}",status="{status.value}"}} {n}')
    totals = {t.kind: t for t in metrics.finished_totals(session)}
    series = (
        ("keyscope_keys_scanned_total", "counter", "Keys scanned by finished analyses."),
        ("keyscope_analysis_duration_seconds_sum", "counter", "Time spent by finished analyses."),
        ("keyscope_analysis_duration_seconds_count", "counter", "Finished analyses."),
        ("keyscope_scan_rate_keys_per_second", "gauge", "Keys scanned per second of analysis."),
    )
    for name, kind_of_metric, help_text in series:
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind_of_metric}"]
        for kind in TaskKind:
            t = totals.get(kind.value)
            keys, count, seconds = (t.keys_scanned, t.finished, t.duration_s) if t else (0, 0, 0.0)
            value: float = {
                "keyscope_keys_scanned_total": keys,
                "keyscope_analysis_duration_seconds_sum": round(seconds, 3),
                "keyscope_analysis_duration_seconds_count": count,
                "keyscope_scan_rate_keys_per_second": round(keys / seconds, 1) if seconds else 0,
            }[name]
            lines.append(f'{name}{{kind="{kind.value}"}} {value}')
    return "\n".join(lines) + "\n"
