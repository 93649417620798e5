"""Queries on backups (one RDB file per shard of an instance) and where their files live.

A backup's files live in the instance's folder: ``<backup_id>.rdb`` when it holds one,
``<backup_id>.<position>.rdb`` for each shard of a cluster backup.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from keyscope.domain import codes
from keyscope.domain.errors import Conflict, InvalidInput, NotFound
from keyscope.store.tables import BackupFileRow, BackupRow


@dataclass(frozen=True, slots=True)
class FileSource:
    """The node one file of a backup is read from, and the shard it stands for."""

    node_id: str | None
    host: str | None = None
    port: int | None = None
    group_id: str | None = None
    group_name: str | None = None
    shard: str | None = None


UPLOADED = FileSource(node_id=None)


def instance_folder(backups_dir: Path, instance_id: str) -> Path:
    """The folder holding every backup file of one instance."""
    return backups_dir / instance_id


def backup_path(backups_dir: Path, instance_id: str, backup_id: str,
                position: int | None = None) -> Path:  # fmt: skip
    """Where a file of a backup lives (nothing is created); ``position`` for one of several."""
    name = f"{backup_id}.rdb" if position is None else f"{backup_id}.{position}.rdb"
    return instance_folder(backups_dir, instance_id) / name


def backup_file(backups_dir: Path, instance_id: str, backup_id: str,
                position: int | None = None) -> Path:  # fmt: skip
    """Where a file of a backup lives; its folder is created private (0700)."""
    folder = instance_folder(backups_dir, instance_id)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    return backup_path(backups_dir, instance_id, backup_id, position)


def file_names(backups_dir: Path, instance_id: str, backup_id: str,
                positions: Iterable[int]) -> list[Path]:  # fmt: skip
    """Every name a backup's files and their partial transfers can have."""
    paths = [backup_path(backups_dir, instance_id, backup_id)]
    paths += [backup_path(backups_dir, instance_id, backup_id, p) for p in positions]
    return [q for p in paths for q in (p, p.with_name(p.name + ".part"))]


def remove_files(paths: Iterable[Path]) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)


def remove_instance_files(backups_dir: Path, instance_id: str) -> None:
    """Delete every backup file of an instance, partial ones included."""
    shutil.rmtree(instance_folder(backups_dir, instance_id), ignore_errors=True)


def count_backups(session: Session, instance_id: str) -> int:
    count = select(func.count()).select_from(BackupRow)
    return session.scalar(count.where(BackupRow.instance_id == instance_id)) or 0


def new_backup(session: Session, *, instance_id: str, sources: Sequence[FileSource],
               now: datetime, remark: str | None = None, status: str = "waiting",
               backup_type: str = "manual", limit: int | None = None) -> BackupRow:  # fmt: skip
    """A backup of ``sources`` (one file each), flushed.

    ``InvalidInput`` (DCS.4962) when the instance already holds ``limit`` backups;
    ``Conflict`` (DCS.4961) when one of the nodes has a backup being taken (the caller's
    session must then be rolled back).
    """
    if limit is not None and count_backups(session, instance_id) >= limit:
        raise InvalidInput(
            f"the instance holds {limit} backups, the most it may: delete some first",
            code=codes.BACKUP_LIMIT_REACHED,
        )
    row = BackupRow(
        id=str(uuid.uuid4()),
        instance_id=instance_id,
        node_id=sources[0].node_id if len(sources) == 1 else None,
        status=status,
        size=0,
        remark=remark,
        backup_format="rdb",
        backup_type=backup_type,
        created_at=now,
        updated_at=now,
        execution_at=now,
    )
    row.files = [
        BackupFileRow(position=position, instance_id=instance_id, node_id=s.node_id,
                      group_id=s.group_id, group_name=s.group_name, shard=s.shard, host=s.host,
                      port=s.port, status=status, size=0)
        for position, s in enumerate(sources)
    ]  # fmt: skip
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        busy = ", ".join(s.shard or s.node_id or "?" for s in sources)
        raise Conflict(f"a backup of {busy} is already being taken",
                       code=codes.BACKUP_IN_PROGRESS) from exc  # fmt: skip
    return row


def get_backup(session: Session, instance_id: str, backup_id: str) -> BackupRow:
    row = session.scalar(
        select(BackupRow).where(BackupRow.id == backup_id, BackupRow.instance_id == instance_id)
    )
    if row is None:
        raise NotFound(f"backup {backup_id} not found", code=codes.BACKUP_NOT_FOUND)
    return row


def file_of_node(row: BackupRow, node_id: str, group_id: str | None) -> BackupFileRow:
    """The file of ``row`` an analysis of node ``node_id`` (of shard ``group_id``) reads.

    A node's own file, else its shard's (a replica's copy stands for its master and the
    other way round), else the one file of an upload; ``InvalidInput`` (DCS.4963) when the
    backup holds nothing of that node.
    """
    files = list(row.files)
    for match in (
        lambda f: f.node_id == node_id,
        lambda f: group_id is not None and f.node_id is not None and f.group_id == group_id,
        lambda f: len(files) == 1 and f.node_id is None,
    ):
        found = next((f for f in files if match(f)), None)
        if found is not None:
            return found
    held = ", ".join(f.node_id or "uploaded" for f in files) or "nothing"
    raise InvalidInput(f"backup {row.id} holds no file of node {node_id} (it holds {held})",
                       code=codes.BACKUP_NODE_NOT_HELD)  # fmt: skip


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
        .options(selectinload(BackupRow.files))
        .where(*conditions)
        .order_by(BackupRow.created_at.desc(), BackupRow.id)
        .offset(offset)
        .limit(limit)
    )
    return total, list(rows)
