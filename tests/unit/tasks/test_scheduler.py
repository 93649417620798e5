"""Auto scans fire at their configured UTC times, once each, across restarts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from keyscope.domain.tasks import TaskKind
from keyscope.store import schedules
from keyscope.store.db import SessionFactory, transaction
from keyscope.store.tables import InstanceRow, TaskRow
from keyscope.tasks.executors import ExecutorSpec, Outcome
from keyscope.tasks.scheduler import Scheduler, latest_daily_due, latest_periodic_due
from tests.unit.tasks.helpers import instance, runner, wait_for

MON = datetime(2024, 1, 1, 0, 0, tzinfo=UTC)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


SPECS = tuple(
    ExecutorSpec(kind, run=lambda ctx: Outcome(0), needs_topology=False)
    for kind in (TaskKind.BIGKEY, TaskKind.HOTKEY, TaskKind.EXPIRE)
)


def test_latest_daily_due_is_the_last_time_at_or_before_now() -> None:
    now = datetime(2024, 1, 2, 10, 0, tzinfo=UTC)
    assert latest_daily_due(["09:30", "21:00"], now) == datetime(2024, 1, 2, 9, 30, tzinfo=UTC)
    assert latest_daily_due(["21:00"], now) == datetime(2024, 1, 1, 21, 0, tzinfo=UTC)
    assert latest_daily_due(["10:00"], now) == now
    assert latest_daily_due([], now) is None


def test_latest_periodic_due_counts_whole_intervals_from_the_first_scan() -> None:
    first = datetime(2024, 1, 1, 15, 0, 5, tzinfo=UTC)
    assert latest_periodic_due(first, 3600, first - timedelta(seconds=1)) is None
    assert latest_periodic_due(first, 3600, first) == first
    later = first + timedelta(hours=5, minutes=59)
    assert latest_periodic_due(first, 3600, later) == first + timedelta(hours=5)


def _auto_tasks(factory: SessionFactory) -> list[tuple[str, str]]:
    with factory() as session:
        rows = session.scalars(select(TaskRow).order_by(TaskRow.created_at))
        return [(r.kind, r.scan_type) for r in rows]


def _enable_daily(
    factory: SessionFactory, inst: InstanceRow, kind: TaskKind, times: list[str], now: datetime
) -> None:
    with transaction(factory) as session:
        row = schedules.autoscan_config(session, inst.id, kind, now=now)
        row.enable_auto_scan = True
        row.schedule_at = times
        row.updated_at = now
        session.add(row)


def _finish_all(factory: SessionFactory, ids: list[str]) -> None:
    for task_id in ids:
        wait_for(factory, task_id)


def test_daily_schedules_fire_at_their_times_once_and_as_auto(
    factory: SessionFactory, tmp_path: Path
) -> None:
    clock = FakeClock(MON)
    inst = instance(factory, MON)
    _enable_daily(factory, inst, TaskKind.BIGKEY, ["09:00", "21:00"], MON)
    _enable_daily(factory, inst, TaskKind.HOTKEY, ["12:00"], MON)
    r = runner(factory, tmp_path, SPECS, clock)
    r.start()
    try:
        scheduler = Scheduler(factory, r, clock=clock)
        clock.now = MON.replace(hour=8, minute=59)
        assert scheduler.tick() == []
        clock.now = MON.replace(hour=9, minute=0, second=3)
        fired = scheduler.tick()
        assert len(fired) == 1
        _finish_all(factory, fired)
        assert scheduler.tick() == []  # the same due time never fires twice
        clock.now = MON.replace(hour=22)  # 12:00 and 21:00 both passed
        fired = scheduler.tick()
        assert len(fired) == 2
        _finish_all(factory, fired)
        assert sorted(_auto_tasks(factory)) == [
            ("bigkey", "auto"),
            ("bigkey", "auto"),
            ("hotkey", "auto"),
        ]
    finally:
        r.shutdown()


def test_a_restart_neither_repeats_nor_loses_a_firing(
    factory: SessionFactory, tmp_path: Path
) -> None:
    clock = FakeClock(MON.replace(hour=9, minute=1))
    inst = instance(factory, MON)
    _enable_daily(factory, inst, TaskKind.BIGKEY, ["09:00"], MON)
    first = runner(factory, tmp_path, SPECS, clock)
    first.start()
    try:
        _finish_all(factory, Scheduler(factory, first, clock=clock).tick())
    finally:
        first.shutdown()
    # "Restart": a new runner and scheduler over the same database.
    second = runner(factory, tmp_path, SPECS, clock)
    second.start()
    try:
        assert Scheduler(factory, second, clock=clock).tick() == []
        clock.now = MON + timedelta(days=1, hours=10)  # down over the next 09:00
        _finish_all(factory, Scheduler(factory, second, clock=clock).tick())
    finally:
        second.shutdown()
    assert _auto_tasks(factory) == [("bigkey", "auto"), ("bigkey", "auto")]


def test_a_time_before_the_schedule_was_set_does_not_fire(
    factory: SessionFactory, tmp_path: Path
) -> None:
    set_at = MON.replace(hour=10)
    clock = FakeClock(set_at.replace(minute=30))
    inst = instance(factory, MON)
    _enable_daily(factory, inst, TaskKind.BIGKEY, ["09:00"], set_at)
    r = runner(factory, tmp_path, SPECS, clock)
    r.start()
    try:
        assert Scheduler(factory, r, clock=clock).tick() == []
    finally:
        r.shutdown()


def test_expire_scans_repeat_every_interval_from_the_first_scan_with_their_settings(
    factory: SessionFactory, tmp_path: Path
) -> None:
    clock = FakeClock(MON)
    inst = instance(factory, MON)
    with transaction(factory) as session:
        row = schedules.expire_config(session, inst.id, now=MON)
        row.enable_auto_scan = True
        row.first_scan_at = MON + timedelta(hours=1)
        row.interval = 600
        row.timeout = 1200
        row.scan_keys_count = 50
        session.add(row)
    r = runner(factory, tmp_path, SPECS, clock)
    r.start()
    try:
        scheduler = Scheduler(factory, r, clock=clock)
        assert scheduler.tick() == []
        fired: list[str] = []
        for minutes in (60, 65, 70, 71, 95):
            clock.now = MON + timedelta(minutes=minutes)
            ids = scheduler.tick()
            _finish_all(factory, ids)
            fired += ids
        assert len(fired) == 3  # at 60, 70 and 90 minutes
        with factory() as session:
            params = [session.get(TaskRow, t).params for t in fired]  # type: ignore[union-attr]
        assert params == [{"timeout": 1200, "scan_keys_count": 50}] * 3
    finally:
        r.shutdown()


def test_a_schedule_due_while_the_same_analysis_is_active_is_skipped_not_doubled(
    factory: SessionFactory, tmp_path: Path
) -> None:
    from keyscope.domain.tasks import ScanType
    from keyscope.tasks import lifecycle

    clock = FakeClock(MON)
    inst = instance(factory, MON)
    _enable_daily(factory, inst, TaskKind.BIGKEY, ["09:00"], MON)
    # A waiting task never handed to the runner stands for a manual analysis still running.
    lifecycle.create(
        factory, instance_id=inst.id, kind=TaskKind.BIGKEY, scan_type=ScanType.MANUAL, now=MON
    )
    r = runner(factory, tmp_path, SPECS, clock)
    try:
        scheduler = Scheduler(factory, r, clock=clock)
        clock.now = MON.replace(hour=9, minute=1)
        assert scheduler.tick() == []
        assert scheduler.tick() == []
        assert _auto_tasks(factory) == [("bigkey", "manual")]
    finally:
        r.shutdown()


def test_a_scheduled_run_the_instance_now_refuses_leaves_a_failed_record_with_the_reason(
    factory: SessionFactory, tmp_path: Path
) -> None:
    from keyscope.domain.errors import Unsupported

    def policy_changed(_topology: object, _auth: object) -> None:
        raise Unsupported("Does not support hotkey analyze. maxmemory-policy is 'noeviction'",
                          code="DCS.4922")  # fmt: skip

    specs = (ExecutorSpec(TaskKind.HOTKEY, run=lambda ctx: Outcome(0), check=policy_changed),)
    clock = FakeClock(MON)
    inst = instance(factory, MON)
    _enable_daily(factory, inst, TaskKind.HOTKEY, ["09:00"], MON)
    r = runner(factory, tmp_path, specs, clock)
    try:
        clock.now = MON.replace(hour=9, minute=1)
        (fired,) = Scheduler(factory, r, clock=clock).tick()
        with factory() as session:
            row = session.get(TaskRow, fired)
            assert row is not None
            assert (row.kind, row.scan_type, row.status) == ("hotkey", "auto", "failed")
            assert row.reason is not None and "noeviction" in row.reason
            assert row.finished_at is not None
    finally:
        r.shutdown()
