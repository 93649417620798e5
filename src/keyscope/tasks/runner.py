"""Create tasks and run them on an in-process thread pool, with cancellation on delete.

``create`` refuses a second waiting or running analysis of one kind on one instance
(``Conflict``), asks the executor whether the instance supports the analysis, stores the
waiting task and submits it. A worker moves it to running, runs the executor, and records
success or the failure reason; progress is saved as a heartbeat at most every few seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from keyscope import defaults
from keyscope.domain import codes
from keyscope.domain.errors import KeyscopeError, NotFound, TaskCancelled
from keyscope.domain.scan import Cancellation, Progress, ScanOptions
from keyscope.domain.tasks import ScanType, TaskKind
from keyscope.domain.topology import InstanceMode, Node, NodeRole, Topology
from keyscope.redis.auth import Auth
from keyscope.redis.info import NodeStats, node_stats
from keyscope.redis.liveness import Deployment, DeploymentState, check_deployments
from keyscope.redis.topology import discover as discover_topology
from keyscope.store import faults, instance_logins
from keyscope.store import instances as instance_queries
from keyscope.store.db import SessionFactory, transaction
from keyscope.store.tables import InstanceRow, NodeRow, TaskRow
from keyscope.tasks import executors, lifecycle
from keyscope.tasks.backup_recovery import fail_abandoned_backups, sweep_orphan_files
from keyscope.tasks.clock import Clock, utcnow
from keyscope.tasks.dispatch import TaskDispatcher

log = logging.getLogger(__name__)

Discover = Callable[[InstanceMode, Sequence[str], Auth], Topology]
Decrypt = Callable[[str], str]

NODES_RETRY_AFTER_S = 10.0
"""After a deployment did not answer, the node look-ups use the cache this long."""

HEARTBEAT_EVERY_S = 2.0
"""Progress is written to the task row at most this often."""

CANCELLED_REASON = "the task was cancelled"
DEADLINE_REASON = (
    "the analysis did not finish within its deadline of {seconds:g} s"
    " (KEYSCOPE_ANALYSIS_DEADLINE_S)"
)
STOPPED_REASON = "keyscope stopped while the task ran"


def live_discover(mode: InstanceMode, addresses: Sequence[str], auth: Auth) -> Topology:
    """Connect to the deployment and lay out its nodes (``keyscope.redis.topology``)."""
    return discover_topology(mode, addresses, auth)


def node_from_row(row: NodeRow) -> Node:
    return Node(
        node_id=row.node_id,
        host=row.host,
        port=row.port,
        role=NodeRole(row.role),
        group_id=row.group_id,
        group_name=row.group_name,
    )


@dataclass(frozen=True, slots=True)
class RunnerConfig:
    workers: int
    options: ScanOptions
    data_dir: Path
    backups_dir: Path
    analysis_deadline_s: float = defaults.ANALYSIS_DEADLINE_S
    """A task still running this long after it started is stopped and failed."""
    backup_deadline_s: float = defaults.BACKUP_DEADLINE_S
    """A backup still being taken this long after it started is failed as timed out."""
    max_backups_per_instance: int = defaults.MAX_BACKUPS_PER_INSTANCE


class TaskRunner:
    """The embedded task engine: one per process."""

    def __init__(
        self,
        factory: SessionFactory,
        config: RunnerConfig,
        *,
        decrypt: Decrypt,
        clock: Clock = utcnow,
        discover: Discover = live_discover,
        registry: executors.ExecutorRegistry | None = None,
        dispatcher: TaskDispatcher | None = None,
    ) -> None:
        self._factory = factory
        self._config = config
        self._decrypt = decrypt
        self._clock = clock
        self._discover = discover
        self._registry = registry
        self._pool: ThreadPoolExecutor | None = None
        self._cancels: dict[str, Cancellation] = {}
        self._nodes_failed_at: dict[str, float] = {}
        """When re-reading each instance's nodes last failed (monotonic)."""
        self._scanned: dict[str, int] = {}
        """The latest keys-scanned count each running task reported."""
        self._lock = threading.Lock()
        self._stopping = False
        self._dispatcher = dispatcher
        """Scale-out: who executes the tasks instead of this runner's own pool."""

    # -- life of the runner ------------------------------------------------------------

    def start(self) -> None:
        """Fail what a previous process left running, then run what it left waiting."""
        if self._dispatcher is not None:
            self._dispatcher.start()  # the workers recover their own tasks, never the API
            return
        recovered = lifecycle.recover_abandoned(self._factory, now=self._clock())
        if recovered:
            log.warning("marked %d task(s) failed: %s", recovered, lifecycle.RESTARTED_REASON)
        fail_abandoned_backups(self._factory, self._config.backups_dir, now=self._clock())
        sweep_orphan_files(self._factory, self._config.backups_dir)
        self._pool = ThreadPoolExecutor(self._config.workers, thread_name_prefix="keyscope-task")
        for task_id in lifecycle.waiting_task_ids(self._factory):
            self.submit(task_id)

    def shutdown(self) -> None:
        """Stop running tasks (they fail as interrupted); waiting ones wait for the next start."""
        if self._dispatcher is not None:
            self._dispatcher.shutdown()
        with self._lock:
            self._stopping = True
            for cancel in self._cancels.values():
                cancel.cancel()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    # -- what the API and the scheduler call -------------------------------------------

    @property
    def backups_dir(self) -> Path:
        """Where backup files are kept."""
        return self._config.backups_dir

    @property
    def max_backups_per_instance(self) -> int:
        """Backups one instance may hold before new ones are refused."""
        return self._config.max_backups_per_instance

    @property
    def data_dir(self) -> Path:
        """The data folder of this process (database, secrets key, lock)."""
        return self._config.data_dir

    @property
    def backup_deadline_s(self) -> float:
        """How long one backup may take (``RunnerConfig.backup_deadline_s``)."""
        return self._config.backup_deadline_s

    def auth_of(self, instance: InstanceRow) -> Auth:
        """How to log in to the instance's nodes (``store.instance_logins.auth_of``)."""
        return instance_logins.auth_of(instance, self._decrypt)

    def discover(self, mode: InstanceMode, addresses: Sequence[str], auth: Auth) -> Topology:
        """Connect to the deployment and read its shape (NodeError when it does not answer)."""
        return self._discover(mode, addresses, auth)

    def topology_of(self, instance: InstanceRow) -> Topology:
        """The live shape of the instance; the cached nodes follow it (roles after a failover)."""
        topology = self.discover(
            InstanceMode(instance.mode), list(instance.addresses), self.auth_of(instance)
        )
        try:
            with transaction(self._factory) as session:
                row = session.get(InstanceRow, instance.id)
                if row is not None and instance_queries.sync_nodes(row, topology):
                    log.info("instance %s: nodes changed since they were cached", instance.id)
        except SQLAlchemyError as exc:  # another process refreshing them at the same moment
            log.warning("instance %s: cached nodes not refreshed (%s)", instance.id, type(exc))
        return topology

    def refresh_nodes(self, instance: InstanceRow) -> bool:
        """Re-read the deployment so that its cached nodes follow a failover; whether it was.

        A deployment that does not answer keeps its cache and is not tried again for
        ``NODES_RETRY_AFTER_S`` (an address that drops packets costs a connect timeout).
        """
        now = time.monotonic()
        with self._lock:
            failed_at = self._nodes_failed_at.get(instance.id)
            if failed_at is not None and now - failed_at < NODES_RETRY_AFTER_S:
                return False
        try:
            self.topology_of(instance)
        except KeyscopeError:
            with self._lock:
                self._nodes_failed_at[instance.id] = now
            return False
        with self._lock:
            self._nodes_failed_at.pop(instance.id, None)
        return True

    def node_stats(self, node: NodeRow, auth: Auth) -> NodeStats:
        """Live INFO figures of one cached node."""
        return node_stats(node_from_row(node), auth)

    def deployment_of(self, instance: InstanceRow) -> Deployment:
        """The cached nodes of the instance and its login, for ``live_states`` (read while
        the row's session is open; the check itself needs none)."""
        return [node_from_row(n) for n in instance.nodes], self.auth_of(instance)

    def live_states(self, deployments: dict[str, Deployment]) -> dict[str, DeploymentState]:
        """Which nodes answer now, every node of every deployment within one short deadline."""
        return check_deployments(deployments)

    def create(
        self,
        instance: InstanceRow,
        kind: TaskKind,
        scan_type: ScanType,
        *,
        params: dict[str, Any] | None = None,
    ) -> TaskRow:
        """Store a waiting task after the support check, and submit it."""
        spec = self._spec(kind)
        if spec is None:
            raise NotFound(f"no executor for {kind.value} analyses", code=codes.ROUTE_NOT_FOUND)
        if lifecycle.active_task(self._factory, instance.id, kind) is not None:
            raise lifecycle.conflict_for(kind, instance.id)
        self.check_supported(instance, kind)
        row = lifecycle.create(
            self._factory,
            instance_id=instance.id,
            kind=kind,
            scan_type=scan_type,
            now=self._clock(),
            params=params,
        )
        self.submit(row.id)
        return row

    def check_supported(self, instance: InstanceRow, kind: TaskKind) -> None:
        """Refuse (with the kind's DCS code) an instance that cannot run this analysis now."""
        spec = self._spec(kind)
        if spec is not None and spec.check is not None:
            spec.check(self.topology_of(instance), self.auth_of(instance))

    def _spec(self, kind: TaskKind) -> executors.ExecutorSpec | None:
        if self._registry is not None:
            return self._registry.get(kind)
        return executors.get(kind)

    def submit(self, task_id: str) -> None:
        if self._dispatcher is not None:
            self._submit_elsewhere(self._dispatcher, task_id)
            return
        if self._pool is None:
            raise RuntimeError("the task runner is not started")
        with self._lock:
            self._cancels[task_id] = Cancellation()
        self._pool.submit(self._run, task_id)

    def cancel(self, task_id: str) -> None:
        """Ask a running task to stop (its record is being deleted)."""
        if self._dispatcher is not None:
            self._dispatcher.cancel(task_id)
        with self._lock:
            cancel = self._cancels.get(task_id)
        if cancel is not None:
            cancel.cancel()

    def _submit_elsewhere(self, dispatcher: TaskDispatcher, task_id: str) -> None:
        try:
            dispatcher.submit(task_id)
        except Exception:
            # A task nobody will run must not stay waiting (and block its kind) forever.
            self._fail(task_id, "the task could not be queued")
            raise

    def execute(self, task_id: str, cancel: Cancellation) -> None:
        """Run the stored task here and now (a queue worker's job), stopping on ``cancel``."""
        with self._lock:
            self._cancels[task_id] = cancel
        self._run(task_id)

    # -- the worker ----------------------------------------------------------------------

    def _run(self, task_id: str) -> None:
        with self._lock:
            cancel = self._cancels.setdefault(task_id, Cancellation())
        deadline = self._config.analysis_deadline_s
        timer = threading.Timer(
            deadline, cancel.cancel, kwargs={"reason": DEADLINE_REASON.format(seconds=deadline)}
        )
        timer.daemon = True
        try:
            if not lifecycle.mark_running(self._factory, task_id, now=self._clock()):
                return
            timer.start()  # from the start of the run: time queued does not count
            outcome = self._execute(task_id)
            lifecycle.mark_success(
                self._factory,
                task_id,
                now=self._clock(),
                num=outcome.num,
                result=outcome.result,
                # engines that report progress but no total leave it to the last report
                keys_scanned=max(outcome.keys_scanned, self._scanned.get(task_id, 0)),
            )
        except TaskCancelled:
            if cancel.reason is not None:
                log.info("task %s failed: %s", task_id, cancel.reason)
            default = STOPPED_REASON if self._stopping else CANCELLED_REASON
            self._fail(task_id, cancel.reason or default)
        except KeyscopeError as exc:
            log.info("task %s failed: %s", task_id, exc.message)
            self._fail(task_id, exc.message)
        except SQLAlchemyError as exc:
            reason = faults.from_database(exc).message
            log.warning("task %s failed: %s", task_id, reason)
            self._fail(task_id, reason)
        except OSError as exc:
            storage = faults.from_os(exc, "the data folder")
            reason = storage.message if storage else f"internal error ({type(exc).__name__})"
            log.warning("task %s failed: %s", task_id, reason)
            self._fail(task_id, reason)
        except Exception as exc:
            log.exception("task %s failed unexpectedly", task_id)
            self._fail(task_id, f"internal error ({type(exc).__name__})")
        finally:
            timer.cancel()
            with self._lock:
                self._cancels.pop(task_id, None)
            self._scanned.pop(task_id, None)

    def _fail(self, task_id: str, reason: str) -> None:
        try:
            lifecycle.mark_failed(self._factory, task_id, now=self._clock(), reason=reason)
        except Exception:
            log.exception("could not record the failure of task %s", task_id)

    def _execute(self, task_id: str) -> executors.Outcome:
        with self._factory() as session:
            task = session.get(TaskRow, task_id)
            if task is None:
                raise TaskCancelled("the task was deleted")
            instance = instance_queries.get_instance_by_id(session, task.instance_id)
            if instance is None:
                raise TaskCancelled("the instance was deleted")
            kind = TaskKind(task.kind)
            scan_type = ScanType(task.scan_type)
            params = dict(task.params or {})
        spec = self._spec(kind)
        if spec is None:
            raise KeyscopeError(f"no executor for {kind.value} analyses")
        with self._lock:
            cancel = self._cancels.setdefault(task_id, Cancellation())
        topology = self.topology_of(instance) if spec.needs_topology else None
        ctx = executors.TaskContext(
            task_id=task_id,
            instance_id=instance.id,
            kind=kind,
            scan_type=scan_type,
            params=params,
            topology=topology,
            auth=self.auth_of(instance),
            options=self._config.options,
            cancel=cancel,
            progress=self._progress(task_id),
            session_factory=self._factory,
            data_dir=self._config.data_dir,
            backups_dir=self._config.backups_dir,
            backup_deadline_s=self._config.backup_deadline_s,
        )
        return spec.run(ctx)

    def _progress(self, task_id: str) -> Progress:
        last = [0.0]

        def report(keys_scanned: int, keys_total: int | None) -> None:
            self._scanned[task_id] = max(self._scanned.get(task_id, 0), keys_scanned)
            now = time.monotonic()
            if now - last[0] < HEARTBEAT_EVERY_S:
                return
            last[0] = now
            lifecycle.heartbeat(
                self._factory, task_id, now=self._clock(), keys_scanned=keys_scanned
            )

        return report
