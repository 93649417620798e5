"""Backup jobs: a snapshot of one node over replication into a private file, recorded.

A backup row moves ``waiting → backuping → succeed | failed``; a failure keeps a DCS backup
error code (``dcs.08.0001`` the snapshot could not be taken, ``dcs.08.0002`` timed out).
Jobs started by the API run on a small pool of their own; the offline analysis runs them
inline before it reads the file.

While a process holds a backup (queued or being taken) it refreshes the row's
``updated_at`` every ``HEARTBEAT_S``; a row left ``waiting`` or ``backuping`` by a process
that died is failed by ``fail_abandoned_backups`` (at start in the embedded mode, by the
workers' supervisor after ``ABANDONED_AFTER_S`` in the scale-out mode) and its partial file
removed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import ColumnElement, select, update

from keyscope.domain.errors import KeyscopeError, NodeError, RdbFormatError
from keyscope.redis.auth import NO_AUTH, Auth
from keyscope.redis.replication import save_snapshot
from keyscope.store import faults
from keyscope.store.backups import backup_file, backup_path
from keyscope.store.db import SessionFactory, transaction
from keyscope.store.tables import BackupRow
from keyscope.tasks.clock import Clock

log = logging.getLogger(__name__)

ERROR_TOOL_FAILED = "dcs.08.0001"
ERROR_TIMED_OUT = "dcs.08.0002"
UNFINISHED = ("waiting", "backuping")
HEARTBEAT_S = 5.0
ABANDONED_AFTER_S = 30.0
"""A held backup's row is refreshed every HEARTBEAT_S; one silent this long was abandoned."""


@dataclass(frozen=True, slots=True)
class SnapshotTarget:
    """The node a backup reads, and how to log in (``Auth`` keeps the password out of repr)."""

    instance_id: str
    host: str
    port: int
    auth: Auth = NO_AUTH

    def __repr__(self) -> str:
        return f"SnapshotTarget({self.instance_id}, {self.host}:{self.port})"


def _set(factory: SessionFactory, backup_id: str, **values: object) -> None:
    with transaction(factory) as session:
        session.execute(update(BackupRow).where(BackupRow.id == backup_id).values(**values))


class _Heartbeat:
    """One daemon thread per process refreshing ``updated_at`` of the backups it holds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, tuple[SessionFactory, Clock]] = {}
        self._thread: threading.Thread | None = None

    def hold(self, backup_id: str, factory: SessionFactory, clock: Clock) -> bool:
        """Keep the row alive from now; False when it was already held (by the caller's caller)."""
        with self._lock:
            if backup_id in self._held:
                return False
            self._held[backup_id] = (factory, clock)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._beat, name="keyscope-backup-heartbeat", daemon=True
                )
                self._thread.start()
            return True

    def release(self, backup_id: str) -> None:
        with self._lock:
            self._held.pop(backup_id, None)

    def held(self) -> set[str]:
        with self._lock:
            return set(self._held)

    def holds(self, backup_id: str) -> bool:
        """Whether this process is taking that backup or has it queued."""
        with self._lock:
            return backup_id in self._held

    def _beat(self) -> None:
        while True:
            time.sleep(HEARTBEAT_S)
            with self._lock:
                held = dict(self._held)
            for backup_id, (factory, clock) in held.items():
                try:
                    with transaction(factory) as session:
                        session.execute(
                            update(BackupRow)
                            .where(BackupRow.id == backup_id, BackupRow.status.in_(UNFINISHED))
                            .values(updated_at=clock())
                        )
                except Exception:
                    log.exception("could not refresh backup %s", backup_id)


HEARTBEAT = _Heartbeat()


def fail_abandoned_backups(factory: SessionFactory, backups_dir: Path, *, now: datetime,
                           silent_for: timedelta | None = None) -> list[str]:  # fmt: skip
    """Fail the unfinished backups no process holds, removing their partial files.

    ``silent_for=None`` takes every unfinished backup this process does not hold (the
    embedded mode at start: no other process takes backups); otherwise only those whose
    row has not been refreshed for that long. Returns the ids failed.
    """
    mine = HEARTBEAT.held()
    conditions: list[ColumnElement[bool]] = [BackupRow.status.in_(UNFINISHED)]
    if silent_for is not None:
        conditions.append(BackupRow.updated_at < now - silent_for)
    failed: list[tuple[str, str]] = []
    with transaction(factory) as session:
        rows = session.execute(select(BackupRow.id, BackupRow.instance_id).where(*conditions))
        for backup_id, instance_id in rows:
            if backup_id in mine:
                continue
            done = session.execute(
                update(BackupRow)
                .where(BackupRow.id == backup_id, *conditions)
                .values(status="failed", error_code=ERROR_TOOL_FAILED, updated_at=now)
            )
            if getattr(done, "rowcount", 0):
                failed.append((backup_id, instance_id))
    for backup_id, instance_id in failed:
        backup_path(backups_dir, instance_id, backup_id).unlink(missing_ok=True)
        log.warning("backup %s failed: the process taking it stopped", backup_id)
    return [backup_id for backup_id, _ in failed]


def run_backup(factory: SessionFactory, backup_id: str, target: SnapshotTarget,
               backups_dir: Path, clock: Clock, *,
               consume: Callable[[BinaryIO], object] | None = None,
               deadline_s: float | None = None) -> Path:  # fmt: skip
    """Take the snapshot into the backup's file and record the outcome; NodeError on failure.

    ``consume`` reads the snapshot while it arrives (see ``save_snapshot``); an
    ``RdbFormatError`` it raises leaves the backup recorded as taken and is raised after.
    ``deadline_s`` bounds the snapshot from its start; past it the backup fails as timed out.
    """
    dest = backup_file(backups_dir, target.instance_id, backup_id)
    _set(factory, backup_id, status="backuping", updated_at=clock(), execution_at=clock())
    held_here = HEARTBEAT.hold(backup_id, factory, clock)
    try:  # released only after the last status write: until then the backup is in progress
        try:
            size = save_snapshot(target.host, target.port, dest, auth=target.auth,
                                 consume=consume, deadline_s=deadline_s)  # fmt: skip
        except RdbFormatError:
            size = dest.stat().st_size
            _set(factory, backup_id, status="succeed", size=size, path=str(dest),
                 updated_at=clock())  # fmt: skip
            raise
        except NodeError as exc:
            code = ERROR_TIMED_OUT if "timed out" in exc.message else ERROR_TOOL_FAILED
            _set(factory, backup_id, status="failed", error_code=code, reason=exc.message,
                 updated_at=clock())  # fmt: skip
            raise
        except OSError as exc:
            storage = faults.from_os(exc, "the backups folder")
            reason = storage.message if storage else f"the file could not be written ({exc})"
            _set(factory, backup_id, status="failed", error_code=ERROR_TOOL_FAILED,
                 reason=reason, updated_at=clock())  # fmt: skip
            if storage is not None:
                raise storage from exc
            raise
        except BaseException as exc:
            reason = exc.message if isinstance(exc, KeyscopeError) else "the backup was stopped"
            _set(factory, backup_id, status="failed", error_code=ERROR_TOOL_FAILED,
                 reason=reason, updated_at=clock())  # fmt: skip
            raise
        _set(factory, backup_id, status="succeed", size=size, path=str(dest), updated_at=clock())
        return dest
    finally:
        if held_here:
            HEARTBEAT.release(backup_id)


class BackupJobs:
    """Runs backup jobs in the background; one pool per process, created on first use."""

    _lock = threading.Lock()
    _pool: ThreadPoolExecutor | None = None

    @classmethod
    def submit(cls, backup_id: str, job: Callable[[], object], *,
               factory: SessionFactory, clock: Clock) -> None:  # fmt: skip
        """Queue ``job``; the backup is held (its row kept alive) from now until the job ends."""
        HEARTBEAT.hold(backup_id, factory, clock)
        with cls._lock:
            if cls._pool is None:
                cls._pool = ThreadPoolExecutor(2, thread_name_prefix="keyscope-backup")
            pool = cls._pool

        def guarded() -> None:
            try:
                job()
            except NodeError:
                pass  # already recorded on the backup row, with its DCS backup error code
            except KeyscopeError as exc:  # recorded too; a full disk is worth a line in the log
                log.warning("backup %s failed: %s", backup_id, exc.message)
            except Exception:
                log.exception("backup job failed unexpectedly")
            finally:
                HEARTBEAT.release(backup_id)

        pool.submit(guarded)

    @staticmethod
    def running(backup_id: str) -> bool:
        """Whether this process is taking that backup now, queued, in the background or
        inline for an offline analysis (a row left by a crash is not)."""
        return HEARTBEAT.holds(backup_id)
