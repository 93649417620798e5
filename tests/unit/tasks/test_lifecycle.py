"""Every task transition is persisted, guarded, and a crash's leftovers are recovered."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from keyscope.domain.errors import Conflict, NotFound
from keyscope.domain.tasks import ScanType, TaskKind, TaskStatus
from keyscope.store import migrate
from keyscope.store.db import SessionFactory, make_engine, make_session_factory, transaction
from keyscope.store.instances import add_instance
from keyscope.store.tables import TaskRow
from keyscope.tasks import lifecycle
from tests.utils.service import single_topology

T0 = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def factory(tmp_path: Path) -> Iterator[SessionFactory]:
    engine = make_engine(f"sqlite:///{tmp_path / 'k.db'}")
    migrate.upgrade(engine)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def instance_id(factory: SessionFactory) -> str:
    with transaction(factory) as session:
        row = add_instance(
            session,
            project_id="p",
            name="n",
            addresses=["127.0.0.1:1"],
            password_encrypted=None,
            topology=single_topology(),
            now=T0,
        )
        return row.id


def _task(factory: SessionFactory, task_id: str) -> TaskRow:
    with factory() as session:
        row = session.get(TaskRow, task_id)
        assert row is not None
        return row


def test_a_task_goes_waiting_running_success_with_its_times_and_result(
    factory: SessionFactory, instance_id: str
) -> None:
    row = lifecycle.create(
        factory, instance_id=instance_id, kind=TaskKind.BIGKEY, scan_type=ScanType.MANUAL, now=T0
    )
    assert row.status == TaskStatus.WAITING
    assert lifecycle.mark_running(factory, row.id, now=T0 + timedelta(seconds=1))
    assert lifecycle.mark_success(
        factory, row.id, now=T0 + timedelta(seconds=5), num=2, result={"keys": []}, keys_scanned=10
    )
    done = _task(factory, row.id)
    assert (done.status, done.num, done.keys_scanned) == ("success", 2, 10)
    assert done.started_at == T0 + timedelta(seconds=1)
    assert done.finished_at == T0 + timedelta(seconds=5)


def test_a_failed_task_keeps_its_reason(factory: SessionFactory, instance_id: str) -> None:
    row = lifecycle.create(
        factory, instance_id=instance_id, kind=TaskKind.HOTKEY, scan_type=ScanType.AUTO, now=T0
    )
    lifecycle.mark_running(factory, row.id, now=T0)
    assert lifecycle.mark_failed(factory, row.id, now=T0, reason="127.0.0.1:1: refused")
    failed = _task(factory, row.id)
    assert (failed.status, failed.reason, failed.scan_type) == (
        "failed",
        "127.0.0.1:1: refused",
        "auto",
    )


def test_transitions_out_of_order_are_refused(factory: SessionFactory, instance_id: str) -> None:
    row = lifecycle.create(
        factory, instance_id=instance_id, kind=TaskKind.BIGKEY, scan_type=ScanType.MANUAL, now=T0
    )
    assert not lifecycle.mark_success(factory, row.id, now=T0, num=0, result=None, keys_scanned=0)
    lifecycle.mark_running(factory, row.id, now=T0)
    assert not lifecycle.mark_running(factory, row.id, now=T0)
    lifecycle.mark_failed(factory, row.id, now=T0, reason="x")
    assert not lifecycle.mark_success(factory, row.id, now=T0, num=0, result=None, keys_scanned=0)
    assert _task(factory, row.id).status == "failed"


def test_a_transition_on_a_deleted_task_does_nothing(factory: SessionFactory) -> None:
    assert not lifecycle.mark_running(factory, "no-such-task", now=T0)


def test_a_second_analysis_of_one_kind_is_refused_while_one_is_active(
    factory: SessionFactory, instance_id: str
) -> None:
    first = lifecycle.create(
        factory, instance_id=instance_id, kind=TaskKind.BIGKEY, scan_type=ScanType.MANUAL, now=T0
    )
    with pytest.raises(Conflict, match=instance_id) as refused:
        lifecycle.create(
            factory, instance_id=instance_id, kind=TaskKind.BIGKEY, scan_type=ScanType.AUTO, now=T0
        )
    assert refused.value.code == "DCS.4960"
    other_kind = lifecycle.create(
        factory, instance_id=instance_id, kind=TaskKind.HOTKEY, scan_type=ScanType.MANUAL, now=T0
    )
    assert other_kind.id != first.id
    lifecycle.mark_running(factory, first.id, now=T0)
    lifecycle.mark_success(factory, first.id, now=T0, num=0, result=None, keys_scanned=0)
    again = lifecycle.create(
        factory, instance_id=instance_id, kind=TaskKind.BIGKEY, scan_type=ScanType.MANUAL, now=T0
    )
    assert again.status == "waiting"


def test_recovery_fails_what_a_crash_left_running_and_keeps_what_waits(
    factory: SessionFactory, instance_id: str
) -> None:
    running = lifecycle.create(
        factory, instance_id=instance_id, kind=TaskKind.BIGKEY, scan_type=ScanType.MANUAL, now=T0
    )
    lifecycle.mark_running(factory, running.id, now=T0)
    waiting = lifecycle.create(
        factory, instance_id=instance_id, kind=TaskKind.EXPIRE, scan_type=ScanType.MANUAL, now=T0
    )
    assert lifecycle.recover_abandoned(factory, now=T0 + timedelta(minutes=1)) == 1
    recovered = _task(factory, running.id)
    assert (recovered.status, recovered.reason) == ("failed", lifecycle.RESTARTED_REASON)
    assert recovered.finished_at == T0 + timedelta(minutes=1)
    assert lifecycle.waiting_task_ids(factory) == [waiting.id]


def test_a_task_for_a_missing_instance_is_not_found(factory: SessionFactory) -> None:
    with pytest.raises(NotFound) as missing:
        lifecycle.create(
            factory, instance_id="gone", kind=TaskKind.BIGKEY, scan_type=ScanType.MANUAL, now=T0
        )
    assert missing.value.code == "DCS.4041"
