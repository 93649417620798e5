"""Backup jobs: a snapshot of one node over replication into a private file, recorded.

A backup row moves ``waiting → backuping → succeed | failed``; a failure keeps a DCS backup
error code (``dcs.08.0001`` the snapshot could not be taken, ``dcs.08.0002`` timed out).
Jobs started by the API run on a small pool of their own; the offline analysis runs them
inline before it reads the file.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, ClassVar

from sqlalchemy import update

from keyscope.domain.errors import NodeError, RdbFormatError
from keyscope.redis.replication import save_snapshot
from keyscope.store.backups import backup_file
from keyscope.store.db import SessionFactory, transaction
from keyscope.store.tables import BackupRow
from keyscope.tasks.clock import Clock

log = logging.getLogger(__name__)

ERROR_TOOL_FAILED = "dcs.08.0001"
ERROR_TIMED_OUT = "dcs.08.0002"


@dataclass(frozen=True, slots=True)
class SnapshotTarget:
    """The node a backup reads, and how to log in (the password stays out of repr)."""

    instance_id: str
    host: str
    port: int
    password: str | None = None

    def __repr__(self) -> str:
        return f"SnapshotTarget({self.instance_id}, {self.host}:{self.port})"


def _set(factory: SessionFactory, backup_id: str, **values: object) -> None:
    with transaction(factory) as session:
        session.execute(update(BackupRow).where(BackupRow.id == backup_id).values(**values))


def run_backup(factory: SessionFactory, backup_id: str, target: SnapshotTarget,
               backups_dir: Path, clock: Clock, *,
               consume: Callable[[BinaryIO], object] | None = None) -> Path:  # fmt: skip
    """Take the snapshot into the backup's file and record the outcome; NodeError on failure.

    ``consume`` reads the snapshot while it arrives (see ``save_snapshot``); an
    ``RdbFormatError`` it raises leaves the backup recorded as taken and is raised after.
    """
    dest = backup_file(backups_dir, target.instance_id, backup_id)
    _set(factory, backup_id, status="backuping", updated_at=clock(), execution_at=clock())
    try:
        size = save_snapshot(
            target.host, target.port, dest, password=target.password, consume=consume
        )
    except RdbFormatError:
        size = dest.stat().st_size
        _set(factory, backup_id, status="succeed", size=size, path=str(dest), updated_at=clock())
        raise
    except NodeError as exc:
        code = ERROR_TIMED_OUT if "timed out" in exc.message else ERROR_TOOL_FAILED
        _set(factory, backup_id, status="failed", error_code=code, updated_at=clock())
        raise
    except BaseException:
        _set(factory, backup_id, status="failed", error_code=ERROR_TOOL_FAILED, updated_at=clock())
        raise
    _set(factory, backup_id, status="succeed", size=size, path=str(dest), updated_at=clock())
    return dest


class BackupJobs:
    """Runs backup jobs in the background; one pool per process, created on first use."""

    _lock = threading.Lock()
    _pool: ThreadPoolExecutor | None = None
    _running: ClassVar[set[str]] = set()

    @classmethod
    def submit(cls, backup_id: str, job: Callable[[], object]) -> None:
        with cls._lock:
            if cls._pool is None:
                cls._pool = ThreadPoolExecutor(2, thread_name_prefix="keyscope-backup")
            pool = cls._pool
            cls._running.add(backup_id)

        def guarded() -> None:
            try:
                job()
            except NodeError:
                pass  # already recorded on the backup row, with its DCS backup error code
            except Exception:
                log.exception("backup job failed unexpectedly")
            finally:
                with cls._lock:
                    cls._running.discard(backup_id)

        pool.submit(guarded)

    @classmethod
    def running(cls, backup_id: str) -> bool:
        """Whether this process is taking that backup now (a row left by a crash is not)."""
        with cls._lock:
            return backup_id in cls._running
