"""Queries on backups (RDB files of one node) and where their files live."""

from __future__ import annotations

import os
import shutil
import uuid
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from keyscope.domain import codes
from keyscope.domain.errors import NotFound
from keyscope.store.tables import BackupRow


def instance_folder(backups_dir: Path, instance_id: str) -> Path:
    """The folder holding every backup file of one instance."""
    return backups_dir / instance_id


def backup_path(backups_dir: Path, instance_id: str, backup_id: str) -> Path:
    """Where the file of a backup lives (nothing is created)."""
    return instance_folder(backups_dir, instance_id) / f"{backup_id}.rdb"


def backup_file(backups_dir: Path, instance_id: str, backup_id: str) -> Path:
    """Where the file of a backup lives; its folder is created private (0700)."""
    folder = instance_folder(backups_dir, instance_id)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    return backup_path(backups_dir, instance_id, backup_id)


def remove_instance_files(backups_dir: Path, instance_id: str) -> None:
    """Delete every backup file of an instance, partial ones included."""
    shutil.rmtree(instance_folder(backups_dir, instance_id), ignore_errors=True)


def new_backup(session: Session, *, instance_id: str, node_id: str | None, now: datetime,
               remark: str | None = None, status: str = "waiting",
               backup_type: str = "manual") -> BackupRow:  # fmt: skip
    row = BackupRow(
        id=str(uuid.uuid4()),
        instance_id=instance_id,
        node_id=node_id,
        status=status,
        size=0,
        remark=remark,
        backup_format="rdb",
        backup_type=backup_type,
        created_at=now,
        updated_at=now,
        execution_at=now,
    )
    session.add(row)
    session.flush()
    return row


def get_backup(session: Session, instance_id: str, backup_id: str) -> BackupRow:
    row = session.scalar(
        select(BackupRow).where(BackupRow.id == backup_id, BackupRow.instance_id == instance_id)
    )
    if row is None:
        raise NotFound(f"backup {backup_id} not found", code=codes.BACKUP_NOT_FOUND)
    return row


def list_backups(session: Session, instance_id: str, *, begin: datetime | None = None,
                 end: datetime | None = None, offset: int = 0,
                 limit: int = 10) -> tuple[int, list[BackupRow]]:  # fmt: skip
    """A page of backups, newest first, and the number of all that match."""
    conditions = [BackupRow.instance_id == instance_id]
    if begin is not None:
        conditions.append(BackupRow.created_at >= begin)
    if end is not None:
        conditions.append(BackupRow.created_at <= end)
    total = session.scalar(select(func.count()).select_from(BackupRow).where(*conditions)) or 0
    rows = session.scalars(
        select(BackupRow)
        .where(*conditions)
        .order_by(BackupRow.created_at.desc(), BackupRow.id)
        .offset(offset)
        .limit(limit)
    )
    return total, list(rows)
