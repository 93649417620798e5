"""``keyscope worker``: execute queued analyses, fire auto scans, recover dead workers' tasks.

One process holds a Procrastinate worker (``concurrency`` jobs at once, each in a thread)
and a supervisor loop beside it. Each round of the supervisor:

- heartbeats the tasks this process runs (``tasks.heartbeat_at``) and cancels those whose
  row is gone or no longer active (deleted through the API, or failed by a reaper);
- fails every running task whose heartbeat is older than ``stall_after_s``, with a reason
  (its worker died: SIGKILL, lost machine) — whichever live worker sees it first;
- ends the Procrastinate jobs of workers whose queue heartbeat stopped
  (``JobManager.get_stalled_jobs``), which releases their locks for the next analysis.

Auto scans are the existing ``Scheduler.tick`` run as a Procrastinate periodic task: each
due second fires once across the fleet, and the tick itself claims due times in the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from dataclasses import dataclass
from datetime import timedelta

from procrastinate import App, PsycopgConnector, exceptions, jobs
from sqlalchemy import select, update

from keyscope.domain.scan import Cancellation
from keyscope.domain.tasks import TaskStatus
from keyscope.store.db import SessionFactory, libpq_url, transaction
from keyscope.store.tables import TaskRow
from keyscope.tasks import backup_recovery, backups, executors, lifecycle, queue
from keyscope.tasks.clock import Clock, utcnow
from keyscope.tasks.runner import TaskRunner
from keyscope.tasks.scheduler import Scheduler

log = logging.getLogger(__name__)

EXECUTOR_MODULES = ("keyscope.tasks.online", "keyscope.tasks.offline", "keyscope.tasks.restores")
"""Where the executors of the four kinds register themselves (the API imports them via its
routers; a worker has no routers)."""

TICK_CRON = "* * * * * */5"
"""Scheduler rounds: every 5 s, as the embedded scheduler thread polls."""

WORKER_LOST_REASON = lifecycle.WORKER_LOST_REASON


def load_executors() -> None:
    import importlib

    executors.load_builtin()
    for module in EXECUTOR_MODULES:
        importlib.import_module(module)


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    concurrency: int
    stall_after_s: float

    @property
    def round_s(self) -> float:
        """How often the supervisor heartbeats, checks cancellations and reaps."""
        return max(0.2, min(1.0, self.stall_after_s / 5))

    @property
    def queue_heartbeat_s(self) -> float:
        return max(0.5, min(10.0, self.stall_after_s / 3))


class Worker:
    """One ``keyscope worker`` process: jobs in, task rows updated."""

    def __init__(
        self,
        factory: SessionFactory,
        runner: TaskRunner,
        database_url: str,
        config: WorkerConfig,
        *,
        clock: Clock = utcnow,
    ) -> None:
        self._factory = factory
        self._runner = runner
        self._config = config
        self._clock = clock
        self._running: dict[str, Cancellation] = {}
        self._lock = threading.Lock()
        self.app = App(connector=PsycopgConnector(conninfo=libpq_url(database_url)))
        self._register_tasks()

    def _register_tasks(self) -> None:
        @self.app.task(name=queue.RUN_ANALYSIS, queue=queue.QUEUE)
        def run_analysis(task_id: str) -> None:
            self.run_task(task_id)

        @self.app.periodic(cron=TICK_CRON)
        @self.app.task(name=queue.SCHEDULER_TICK, queue=queue.QUEUE)
        def scheduler_tick(timestamp: int) -> None:
            created = Scheduler(self._factory, self._runner, clock=self._clock).tick()
            if created:
                log.info("scheduler tick %d created %d task(s)", timestamp, len(created))

    # -- jobs --------------------------------------------------------------------------

    def run_task(self, task_id: str) -> None:
        """Execute one stored task (the ``run_analysis`` job), cancellable while it runs."""
        cancel = Cancellation()
        with self._lock:
            self._running[task_id] = cancel
        try:
            self._runner.execute(task_id, cancel)
        finally:
            with self._lock:
                self._running.pop(task_id, None)

    # -- the supervisor ------------------------------------------------------------------

    def supervise_once(self) -> None:
        """Heartbeat and cancel our tasks, fail the tasks of silent workers (sync, one round)."""
        now = self._clock()
        with self._lock:
            mine = dict(self._running)
        if mine:
            with transaction(self._factory) as session:
                session.execute(
                    update(TaskRow)
                    .where(TaskRow.id.in_(mine), TaskRow.status == TaskStatus.RUNNING.value)
                    .values(heartbeat_at=now)
                )
                alive = set(
                    session.scalars(
                        select(TaskRow.id).where(
                            TaskRow.id.in_(mine),
                            TaskRow.status.in_(
                                [TaskStatus.WAITING.value, TaskStatus.RUNNING.value]
                            ),
                        )
                    )
                )
            for task_id, cancel in mine.items():
                if task_id not in alive:
                    cancel.cancel()
        self.fail_silent_tasks()
        silent_for = timedelta(seconds=max(backups.ABANDONED_AFTER_S, self._config.stall_after_s))
        backup_recovery.fail_abandoned_backups(
            self._factory, self._runner.backups_dir, now=now, silent_for=silent_for
        )

    def fail_silent_tasks(self) -> list[str]:
        """Fail the running tasks whose heartbeat is older than the bound; their ids."""
        with self._lock:
            mine = set(self._running)
        silent_for = timedelta(seconds=self._config.stall_after_s)
        failed = lifecycle.fail_silent(
            self._factory, now=self._clock(), silent_for=silent_for, keep=mine
        )
        for task_id in failed:
            log.warning("task %s failed: %s", task_id, WORKER_LOST_REASON.format(
                seconds=self._config.stall_after_s))  # fmt: skip
        return failed

    async def end_stalled_jobs(self) -> int:
        """End the jobs of workers whose queue heartbeat stopped; how many were ended."""
        manager = self.app.job_manager
        stalled = await manager.get_stalled_jobs(seconds_since_heartbeat=self._config.stall_after_s)
        ended = 0
        reason = WORKER_LOST_REASON.format(seconds=self._config.stall_after_s)
        for job in stalled:
            task_id = job.task_kwargs.get("task_id")
            if job.task_name == queue.RUN_ANALYSIS and isinstance(task_id, str):
                await asyncio.to_thread(
                    lifecycle.mark_failed, self._factory, task_id, now=self._clock(), reason=reason
                )
            try:
                assert job.id is not None
                await manager.finish_job_by_id_async(job.id, jobs.Status.FAILED, delete_job=False)
                ended += 1
            except exceptions.ProcrastinateException:
                pass  # another worker ended it first
        return ended

    async def _supervise(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.supervise_once)
                await self.end_stalled_jobs()
            except Exception:
                log.exception("the supervisor round failed")
            await asyncio.sleep(self._config.round_s)

    async def run(self, *, name: str) -> None:
        """Run until SIGINT/SIGTERM: jobs first finish (they fail as stopped if they must)."""
        async with self.app.open_async():
            supervisor = asyncio.create_task(self._supervise(), name="keyscope-supervisor")
            try:
                await self.app.run_worker_async(
                    queues=[queue.QUEUE],
                    name=name,
                    concurrency=self._config.concurrency,
                    update_heartbeat_interval=self._config.queue_heartbeat_s,
                    stalled_worker_timeout=self._config.stall_after_s,
                    delete_jobs=jobs.DeleteJobCondition.SUCCESSFUL,
                )
            finally:
                supervisor.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await supervisor
