"""The runner runs the registered executor, records its outcome, and cancels on request."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from keyscope.domain.errors import Conflict, NodeUnreachable, TaskCancelled, Unsupported
from keyscope.domain.tasks import ScanType, TaskKind
from keyscope.domain.topology import Topology
from keyscope.redis.auth import Auth
from keyscope.store.db import SessionFactory
from keyscope.store.tables import InstanceRow
from keyscope.tasks import lifecycle
from keyscope.tasks.executors import ExecutorSpec, Outcome, TaskContext
from keyscope.tasks.runner import CANCELLED_REASON, STOPPED_REASON, TaskRunner
from tests.unit.tasks.helpers import T0, runner, wait_for


class Gate:
    """An executor that waits until released or cancelled."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self, ctx: TaskContext) -> Outcome:
        self.started.set()
        while not self.release.wait(0.01):
            if ctx.cancel.cancelled:
                raise TaskCancelled("cancelled")
        return Outcome(num=3, result={"keys": [{"name": "k"}]}, keys_scanned=7)


def _run(runner_: TaskRunner) -> Iterator[TaskRunner]:
    runner_.start()
    yield runner_
    runner_.shutdown()


@pytest.fixture
def gate() -> Gate:
    return Gate()


@pytest.fixture
def gated(factory: SessionFactory, tmp_path: Path, gate: Gate) -> Iterator[TaskRunner]:
    specs = (ExecutorSpec(TaskKind.BIGKEY, run=gate, needs_topology=False),)
    yield from _run(runner(factory, tmp_path, specs, lambda: T0))


def test_a_task_runs_and_its_outcome_is_stored(
    factory: SessionFactory, inst: InstanceRow, gated: TaskRunner, gate: Gate
) -> None:
    task = gated.create(inst, TaskKind.BIGKEY, ScanType.MANUAL)
    gate.release.set()
    done = wait_for(factory, task.id)
    assert (done.status, done.num, done.keys_scanned) == ("success", 3, 7)
    assert done.result == {"keys": [{"name": "k"}]}


def test_a_second_request_while_one_runs_is_a_conflict(
    factory: SessionFactory, inst: InstanceRow, gated: TaskRunner, gate: Gate
) -> None:
    first = gated.create(inst, TaskKind.BIGKEY, ScanType.MANUAL)
    gate.started.wait(30)
    with pytest.raises(Conflict, match="already waiting or running"):
        gated.create(inst, TaskKind.BIGKEY, ScanType.MANUAL)
    gate.release.set()
    assert wait_for(factory, first.id).status == "success"


def test_cancelling_a_running_task_stops_it(
    factory: SessionFactory, inst: InstanceRow, gated: TaskRunner, gate: Gate
) -> None:
    task = gated.create(inst, TaskKind.BIGKEY, ScanType.MANUAL)
    gate.started.wait(30)
    gated.cancel(task.id)
    done = wait_for(factory, task.id)
    assert (done.status, done.reason) == ("failed", CANCELLED_REASON)


def test_an_unsupported_instance_is_refused_before_a_task_exists(
    factory: SessionFactory, inst: InstanceRow, tmp_path: Path
) -> None:
    def check(_topology: Topology, _auth: Auth) -> None:
        raise Unsupported("Does not support bigkey analyze.", code="DCS.4919")

    specs = (ExecutorSpec(TaskKind.BIGKEY, run=lambda ctx: Outcome(0), check=check),)
    r = runner(factory, tmp_path, specs, lambda: T0)
    r.start()
    try:
        with pytest.raises(Unsupported) as refused:
            r.create(inst, TaskKind.BIGKEY, ScanType.MANUAL)
        assert refused.value.code == "DCS.4919"
        assert lifecycle.active_task(factory, inst.id, TaskKind.BIGKEY) is None
    finally:
        r.shutdown()


def test_a_failure_keeps_the_safe_reason_and_hides_unexpected_messages(
    factory: SessionFactory, inst: InstanceRow, tmp_path: Path
) -> None:
    def unreachable(_ctx: TaskContext) -> Outcome:
        raise NodeUnreachable("connection refused", node="127.0.0.1:1")

    def broken(_ctx: TaskContext) -> Outcome:
        raise RuntimeError("secret-looking internals")

    specs = (
        ExecutorSpec(TaskKind.BIGKEY, run=unreachable, needs_topology=False),
        ExecutorSpec(TaskKind.HOTKEY, run=broken, needs_topology=False),
    )
    r = runner(factory, tmp_path, specs, lambda: T0)
    r.start()
    try:
        first = r.create(inst, TaskKind.BIGKEY, ScanType.MANUAL)
        second = r.create(inst, TaskKind.HOTKEY, ScanType.MANUAL)
        assert wait_for(factory, first.id).reason == "127.0.0.1:1: connection refused"
        hidden = wait_for(factory, second.id).reason or ""
        assert hidden == "internal error (RuntimeError)"
    finally:
        r.shutdown()


def test_start_recovers_running_tasks_and_runs_waiting_ones(
    factory: SessionFactory, inst: InstanceRow, tmp_path: Path
) -> None:
    crashed = lifecycle.create(
        factory, instance_id=inst.id, kind=TaskKind.BIGKEY, scan_type=ScanType.MANUAL, now=T0
    )
    lifecycle.mark_running(factory, crashed.id, now=T0)
    queued = lifecycle.create(
        factory, instance_id=inst.id, kind=TaskKind.HOTKEY, scan_type=ScanType.AUTO, now=T0
    )
    specs = (ExecutorSpec(TaskKind.HOTKEY, run=lambda ctx: Outcome(1), needs_topology=False),)
    r = runner(factory, tmp_path, specs, lambda: T0)
    r.start()
    try:
        assert wait_for(factory, crashed.id).reason == lifecycle.RESTARTED_REASON
        assert wait_for(factory, queued.id).status == "success"
    finally:
        r.shutdown()


def test_stopping_the_runner_fails_running_tasks_as_interrupted(
    factory: SessionFactory, inst: InstanceRow, gated: TaskRunner, gate: Gate
) -> None:
    task = gated.create(inst, TaskKind.BIGKEY, ScanType.MANUAL)
    gate.started.wait(30)
    gated.shutdown()
    assert wait_for(factory, task.id).reason == STOPPED_REASON


def test_node_look_ups_do_not_retry_a_silent_deployment_at_once(
    factory: SessionFactory, inst: InstanceRow, tmp_path: Path
) -> None:
    calls: list[object] = []

    def silent(*args: object) -> Topology:
        calls.append(args)
        raise NodeUnreachable("no reply in time", node="127.0.0.1:1")

    r = runner(factory, tmp_path, (), lambda: T0, discover=silent)
    assert r.refresh_nodes(inst) is False
    assert r.refresh_nodes(inst) is False  # within NODES_RETRY_AFTER_S: the cache answers
    assert len(calls) == 1


def test_node_look_ups_refresh_a_deployment_that_answers_every_time(
    factory: SessionFactory, inst: InstanceRow, tmp_path: Path
) -> None:
    r = runner(factory, tmp_path, (), lambda: T0)
    assert r.refresh_nodes(inst) is True
    assert r.refresh_nodes(inst) is True
