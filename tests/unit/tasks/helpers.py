"""A migrated SQLite store with one instance, and a runner whose executors tests define."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from keyscope.domain.scan import ScanOptions
from keyscope.domain.tasks import TaskStatus
from keyscope.domain.topology import Topology
from keyscope.store import migrate
from keyscope.store.db import SessionFactory, make_engine, make_session_factory, transaction
from keyscope.store.instances import add_instance
from keyscope.store.tables import InstanceRow, TaskRow
from keyscope.tasks.clock import Clock
from keyscope.tasks.executors import ExecutorRegistry, ExecutorSpec
from keyscope.tasks.runner import Discover, RunnerConfig, TaskRunner
from tests.utils.service import single_topology

T0 = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)


@contextmanager
def store(tmp_path: Path) -> Iterator[SessionFactory]:
    """A migrated SQLite database in ``tmp_path``, disposed of at the end."""
    engine = make_engine(f"sqlite:///{tmp_path / 'k.db'}")
    migrate.upgrade(engine)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()


def instance(factory: SessionFactory, now: datetime = T0) -> InstanceRow:
    with transaction(factory) as session:
        return add_instance(
            session,
            project_id="p",
            name="n",
            addresses=["127.0.0.1:1"],
            password_encrypted=None,
            topology=single_topology(),
            now=now,
        )


def _no_discovery(*_args: object) -> Topology:
    return single_topology()


def runner(
    factory: SessionFactory,
    tmp_path: Path,
    specs: tuple[ExecutorSpec, ...],
    clock: Clock,
    discover: Discover = _no_discovery,
) -> TaskRunner:
    """A runner with its own executors; topology "discovery" returns a hand-made one."""
    config = RunnerConfig(
        workers=2, options=ScanOptions(), data_dir=tmp_path, backups_dir=tmp_path / "backups"
    )
    return TaskRunner(
        factory,
        config,
        decrypt=lambda token: token,
        clock=clock,
        discover=discover,
        registry=ExecutorRegistry(specs),
    )


def wait_for(
    factory: SessionFactory, task_id: str, done: Callable[[TaskRow], bool] | None = None
) -> TaskRow:
    """The task once it has finished (or ``done`` holds); fails after 30 s."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with factory() as session:
            row = session.get(TaskRow, task_id)
            if row is not None and (done(row) if done else TaskStatus(row.status).finished):
                return row
        time.sleep(0.02)
    raise AssertionError(f"task {task_id} did not finish")
