"""Scale-out dispatch: analyses as Procrastinate jobs on the same PostgreSQL as the store.

An API process records the waiting task (``TaskRunner.create``) and ``QueueDispatcher``
defers one ``keyscope.run_analysis`` job for it. The job's ``lock`` and ``queueing_lock`` are
``"<instance_id>:<kind>"``: Procrastinate runs jobs sharing a lock one at a time across every
worker, so at most one analysis per instance and kind runs fleet-wide (the store's partial
unique index already refuses a second waiting one). ``keyscope worker`` processes execute the
jobs (``keyscope.tasks.worker``). The schema of the queue is Procrastinate's own, applied by
``prepare_database`` next to the Alembic migrations, under the same advisory lock.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from procrastinate import App, SyncPsycopgConnector, exceptions
from procrastinate.schema import SchemaManager
from sqlalchemy import Engine

from keyscope.domain.errors import NotFound
from keyscope.store import migrate
from keyscope.store.db import SessionFactory, libpq_url
from keyscope.store.tables import TaskRow

log = logging.getLogger(__name__)

RUN_ANALYSIS = "keyscope.run_analysis"
"""The Procrastinate task that executes one stored keyscope task (kwarg ``task_id``)."""

SCHEDULER_TICK = "keyscope.scheduler_tick"
"""The periodic Procrastinate task that fires due auto scans (``Scheduler.tick``)."""

QUEUE = "keyscope"

CONNECT_ATTEMPTS = 30
"""Pre-start: how many times to try reaching the database before giving up (default)."""

CONNECT_DELAY_S = 1.0
"""Pre-start: the pause between two attempts."""


def lock_of(instance_id: str, kind: str) -> str:
    """The Procrastinate lock shared by every analysis of one kind on one instance."""
    return f"{instance_id}:{kind}"


def sync_app(database_url: str, *, max_size: int = 4) -> App:
    """A Procrastinate app for deferring from synchronous code (API routes, scheduler)."""
    connector = SyncPsycopgConnector(
        conninfo=libpq_url(database_url), min_size=1, max_size=max_size
    )
    return App(connector=connector)


def apply_queue_schema(database_url: str) -> bool:
    """Create Procrastinate's tables unless they exist; True when they were created now."""
    with psycopg.connect(libpq_url(database_url), autocommit=False) as connection:
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (migrate.MIGRATION_LOCK_ID,))
        row = connection.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
        if row is not None and row[0] is not None:
            return False
        connection.execute(SchemaManager.get_schema())
        connection.commit()
        return True


def prepare_database(
    engine: Engine, database_url: str, *, attempts: int = CONNECT_ATTEMPTS
) -> None:
    """The pre-start step: wait for PostgreSQL (bounded), migrate, apply the queue schema."""
    migrate.wait_for_database(engine, attempts=attempts, delay_s=CONNECT_DELAY_S)
    migrate.upgrade(engine)
    if apply_queue_schema(database_url):
        log.info("created the Procrastinate queue schema")


class QueueDispatcher:
    """``TaskDispatcher`` that defers Procrastinate jobs instead of running anything."""

    def __init__(self, factory: SessionFactory, app: App) -> None:
        self._factory = factory
        self._app = app
        self._open = False

    def start(self) -> None:
        self._app.open()
        self._open = True

    def shutdown(self) -> None:
        if self._open:
            self._app.close()
            self._open = False

    def submit(self, task_id: str) -> None:
        with self._factory() as session:
            task = session.get(TaskRow, task_id)
            if task is None:
                raise NotFound(f"task {task_id} not found")
            lock = lock_of(task.instance_id, task.kind)
        deferrer = self._app.configure_task(
            RUN_ANALYSIS, queue=QUEUE, lock=lock, queueing_lock=lock
        )
        try:
            job_id = deferrer.defer(task_id=task_id)
        except exceptions.AlreadyEnqueued:
            # The store allows one waiting task per instance and kind, and this is it:
            # a job still queued under the lock belongs to a task deleted meanwhile.
            self._cancel_queued(lock)
            job_id = deferrer.defer(task_id=task_id)
        log.info("task %s queued as job %s", task_id, job_id)

    def cancel(self, task_id: str) -> None:
        """Cancel the task's queued job; a running one stops when its worker sees it gone."""
        for job_id in self._job_ids(task_id):
            try:
                self._app.job_manager.cancel_job_by_id(job_id, abort=True)
            except exceptions.ProcrastinateException:
                log.debug("job %s of task %s already finished", job_id, task_id)

    def _job_ids(self, task_id: str) -> list[int]:
        rows = self._query(
            "SELECT id FROM procrastinate_jobs WHERE task_name = %(name)s"
            " AND args->>'task_id' = %(task_id)s AND status IN ('todo', 'doing')",
            name=RUN_ANALYSIS,
            task_id=task_id,
        )
        return [int(row["id"]) for row in rows]

    def _cancel_queued(self, lock: str) -> None:
        rows = self._query(
            "SELECT id FROM procrastinate_jobs WHERE queueing_lock = %(lock)s AND status = 'todo'",
            lock=lock,
        )
        for row in rows:
            self._app.job_manager.cancel_job_by_id(int(row["id"]))

    def _query(self, query: str, **params: Any) -> list[dict[str, Any]]:
        connector = self._app.connector.get_sync_connector()
        rows = connector.execute_query_all(query, **params)
        return list(rows)
