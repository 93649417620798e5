"""Fire the configured auto scans: daily big/hot-key times and periodic expired-key scans.

All times are UTC. A schedule fires its latest due time once: the time is claimed in the
database (``last_fired_at``, a conditional UPDATE) before the task is created, so a restart
neither repeats a firing nor loses the one that fell due while keyscope was down, and two
processes never both fire it. A due time earlier than the schedule's last update never fires.
``tick`` does one round and is what tests call with their own clock; ``start`` runs it on a
thread.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import or_, update

from keyscope.domain.errors import Conflict, KeyscopeError
from keyscope.domain.tasks import ScanType, TaskKind
from keyscope.store import schedules
from keyscope.store.db import SessionFactory, transaction
from keyscope.store.instances import get_instance_by_id
from keyscope.store.tables import AutoscanConfigRow, ExpireAutoscanConfigRow
from keyscope.tasks import lifecycle
from keyscope.tasks.clock import Clock, utcnow
from keyscope.tasks.runner import TaskRunner

log = logging.getLogger(__name__)

POLL_EVERY_S = 5.0


def parse_daily_time(value: str) -> time:
    """``"HH:MM"`` (UTC) as a time; ValueError otherwise."""
    hours, sep, minutes = value.partition(":")
    if not sep or len(hours) != 2 or len(minutes) != 2:
        raise ValueError(f"{value!r} is not HH:MM")
    return time(int(hours), int(minutes))


def latest_daily_due(schedule_at: list[str], now: datetime) -> datetime | None:
    """The latest of the daily times at or before ``now`` (today's or yesterday's)."""
    candidates: list[datetime] = []
    for value in schedule_at:
        at = parse_daily_time(value)
        today = now.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
        candidates.append(today if today <= now else today - timedelta(days=1))
    return max(candidates, default=None)


def latest_periodic_due(first: datetime, interval_s: int, now: datetime) -> datetime | None:
    """The latest ``first + k * interval`` (k ≥ 0) at or before ``now``."""
    if now < first or interval_s <= 0:
        return None
    k = int((now - first).total_seconds() // interval_s)
    return first + timedelta(seconds=k * interval_s)


class Scheduler:
    """Creates ``scan_type=auto`` tasks when their configured times come."""

    def __init__(
        self,
        factory: SessionFactory,
        runner: TaskRunner,
        *,
        clock: Clock = utcnow,
        poll_every_s: float = POLL_EVERY_S,
    ) -> None:
        self._factory = factory
        self._runner = runner
        self._clock = clock
        self._poll_every_s = poll_every_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="keyscope-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("the scheduler round failed")
            self._stop.wait(self._poll_every_s)

    def tick(self) -> list[str]:
        """Fire every schedule that is due now; returns the ids of the tasks created."""
        now = self._clock()
        created: list[str] = []
        with self._factory() as session:
            daily = [
                (c.instance_id, TaskKind(c.kind), list(c.schedule_at), c.updated_at)
                for c in schedules.enabled_autoscan_configs(session)
            ]
            periodic = [
                (c.instance_id, c.first_scan_at, c.interval, c.updated_at, c.timeout,
                 c.scan_keys_count)
                for c in schedules.enabled_expire_configs(session)
            ]  # fmt: skip
        for instance_id, kind, schedule_at, updated_at in daily:
            due = latest_daily_due(schedule_at, now)
            if (
                due is not None
                and due >= _minute(updated_at)
                and self._claim_daily(instance_id, kind, due)
            ):
                created += self._fire(instance_id, kind, None)
        for instance_id, first, interval, updated_at, timeout, count in periodic:
            due = latest_periodic_due(first, interval, now) if first is not None else None
            if (
                due is not None
                and due >= _minute(updated_at)
                and self._claim_expire(instance_id, due)
            ):
                params = {"timeout": timeout, "scan_keys_count": count}
                created += self._fire(instance_id, TaskKind.EXPIRE, params)
        return created

    def _claim_daily(self, instance_id: str, kind: TaskKind, due: datetime) -> bool:
        table = AutoscanConfigRow
        with transaction(self._factory) as session:
            result = session.execute(
                update(table)
                .where(
                    table.instance_id == instance_id,
                    table.kind == kind.value,
                    or_(table.last_fired_at.is_(None), table.last_fired_at < due),
                )
                .values(last_fired_at=due)
            )
            return bool(getattr(result, "rowcount", 0))

    def _claim_expire(self, instance_id: str, due: datetime) -> bool:
        table = ExpireAutoscanConfigRow
        with transaction(self._factory) as session:
            result = session.execute(
                update(table)
                .where(
                    table.instance_id == instance_id,
                    or_(table.last_fired_at.is_(None), table.last_fired_at < due),
                )
                .values(last_fired_at=due)
            )
            return bool(getattr(result, "rowcount", 0))

    def _fire(self, instance_id: str, kind: TaskKind, params: dict[str, Any] | None) -> list[str]:
        with self._factory() as session:
            instance = get_instance_by_id(session, instance_id)
        if instance is None:
            return []
        try:
            row = self._runner.create(instance, kind, ScanType.AUTO, params=params)
        except Conflict as exc:  # the same analysis is already under way: nothing is lost
            log.info("auto %s analysis of %s skipped: %s", kind.value, instance_id, exc.message)
            return []
        except KeyscopeError as exc:  # refused (policy changed, unreachable): say so in the history
            refused = lifecycle.record_refused(
                self._factory, instance_id=instance_id, kind=kind, scan_type=ScanType.AUTO,
                now=self._clock(), reason=exc.message, params=params,
            )  # fmt: skip
            log.warning("auto %s analysis of %s failed: %s", kind.value, instance_id, exc.message)
            return [refused.id]
        log.info("auto %s analysis %s created for %s", kind.value, row.id, instance_id)
        return [row.id]


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)
