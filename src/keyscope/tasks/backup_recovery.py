"""Recovery of backups at start: fail what a dead process left unfinished, sweep orphans.

``fail_abandoned_backups`` runs at start in the embedded mode (every unfinished backup this
process does not hold) and from the workers' supervisor in the scale-out mode (only those
silent for ``ABANDONED_AFTER_S``); ``sweep_orphan_files`` then removes every file under the
backups folder that no backup holds: partial transfers, files of backups or instances whose
rows were deleted while a job still wrote them.
"""

from __future__ import annotations

import logging
import shutil
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import ColumnElement, select, update

from keyscope.store.backups import file_names, remove_files
from keyscope.store.db import SessionFactory, transaction
from keyscope.store.tables import BackupFileRow, BackupRow, InstanceRow
from keyscope.tasks.backups import ERROR_TOOL_FAILED, HEARTBEAT, UNFINISHED

log = logging.getLogger(__name__)

STOPPED = "the process taking the backup stopped"


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
    failed: list[tuple[str, str, list[int]]] = []
    with transaction(factory) as session:
        rows = session.execute(select(BackupRow.id, BackupRow.instance_id).where(*conditions))
        for backup_id, instance_id in list(rows):
            if backup_id in mine:
                continue
            done = session.execute(
                update(BackupRow)
                .where(BackupRow.id == backup_id, *conditions)
                .values(
                    status="failed", error_code=ERROR_TOOL_FAILED, reason=STOPPED, updated_at=now
                )
            )
            if getattr(done, "rowcount", 0):
                session.execute(
                    update(BackupFileRow)
                    .where(BackupFileRow.backup_id == backup_id)
                    .values(status="failed", path=None, reason=STOPPED)
                )
                held = session.scalars(
                    select(BackupFileRow.position).where(BackupFileRow.backup_id == backup_id)
                )
                failed.append((backup_id, instance_id, list(held)))
    for backup_id, instance_id, positions in failed:
        remove_files(file_names(backups_dir, instance_id, backup_id, positions))
        log.warning("backup %s failed: the process taking it stopped", backup_id)
    return [backup_id for backup_id, _, _ in failed]


def sweep_orphan_files(factory: SessionFactory, backups_dir: Path) -> list[Path]:
    """Remove every file under ``backups_dir`` that no backup holds; returns what went.

    Kept: the files of succeeded backups and the (partial) files of unfinished ones. The
    folder of an instance that no longer exists goes whole. Run after
    ``fail_abandoned_backups`` at start, when nothing of a dead process is still held.
    """
    if not backups_dir.is_dir():
        return []
    with factory() as session:
        instances = set(session.scalars(select(InstanceRow.id)))
        kept = {Path(p) for p in session.scalars(
            select(BackupFileRow.path).where(BackupFileRow.status == "succeed",
                                             BackupFileRow.path.is_not(None))
        ) if p}  # fmt: skip
        active: dict[tuple[str, str], list[int]] = {}
        for instance_id, backup_id, position in session.execute(
            select(BackupFileRow.instance_id, BackupFileRow.backup_id, BackupFileRow.position)
            .where(BackupFileRow.status.in_(UNFINISHED))
        ):  # fmt: skip
            active.setdefault((instance_id, backup_id), []).append(position)
    for (instance_id, backup_id), positions in active.items():
        kept.update(file_names(backups_dir, instance_id, backup_id, positions))
    removed: list[Path] = []
    for folder in sorted(p for p in backups_dir.iterdir() if p.is_dir()):
        if folder.name not in instances:
            removed.extend(p for p in folder.rglob("*") if p.is_file())
            shutil.rmtree(folder, ignore_errors=True)
            continue
        for path in sorted(folder.iterdir()):
            if path.is_file() and path not in kept:
                remove_files([path])
                removed.append(path)
    if removed:
        log.warning("removed %d backup file(s) no backup holds", len(removed))
    return removed
