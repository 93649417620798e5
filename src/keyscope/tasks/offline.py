"""The offline-analysis executor: back up the node if asked to, then analyse the RDB file.

Registered for ``TaskKind.OFFLINE`` at import. The task's ``params`` hold the node it reads
(``node_id``, address, role, shard) and ``backup_id``; without a backup id the executor
first takes a fresh backup of the node over replication and records its id in ``params``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import update

from keyscope.analysis.cluster_report import (
    ClusterReport,
    ShardReport,
    analyze_shard,
    merge_shard_reports,
)
from keyscope.analysis.offline import OfflineReport, analyze_rdb
from keyscope.domain import codes
from keyscope.domain.errors import NotFound, TaskCancelled, Unsupported
from keyscope.domain.tasks import TaskKind
from keyscope.domain.topology import Topology
from keyscope.redis.auth import Auth
from keyscope.store.backups import FileSource, file_of_node, new_backup
from keyscope.store.db import transaction
from keyscope.store.tables import BackupRow, TaskRow
from keyscope.tasks import executors
from keyscope.tasks.backups import run_backup
from keyscope.tasks.clock import utcnow

ALL_SHARDS = "all"
"""The ``node_id`` of a cluster-wide analysis: every shard file of the backup, merged."""
MIN_MAJOR_VERSION = 4
"""DCS offers offline analysis on Redis 4.0 and later only."""


def check_supported(topology: Topology, _auth: Auth) -> None:
    """Refuse (DCS.4230) what DCS refuses: engines older than Redis 4.0."""
    major = topology.engine_version.split(".", 1)[0]
    if not major.isdigit() or int(major) < MIN_MAJOR_VERSION:
        raise Unsupported(codes.OFFLINE_UNSUPPORTED[1], code=codes.OFFLINE_UNSUPPORTED[0])


def _fresh_backup(
    ctx: executors.TaskContext, analyse: Callable[[BinaryIO], OfflineReport]
) -> OfflineReport:
    """Back the node up and analyse the snapshot in the same pass, while it arrives."""
    params = ctx.params
    with transaction(ctx.session_factory) as session:
        source = FileSource(
            node_id=str(params["node_id"]), host=str(params["node_ip"]),
            port=int(params["node_port"]), group_id=params.get("group_id"),
            group_name=params.get("group_name"),
        )  # fmt: skip
        row = new_backup(session, instance_id=ctx.instance_id, sources=[source], now=utcnow(),
                         remark=f"offline analysis {ctx.task_id}")  # fmt: skip
        backup_id = row.id
        session.execute(
            update(TaskRow)
            .where(TaskRow.id == ctx.task_id)
            .values(params={**params, "backup_id": backup_id, "backup_file": 0})
        )
    reports: list[OfflineReport] = []
    run_backup(ctx.session_factory, backup_id, ctx.backups_dir, utcnow, auth=ctx.auth,
               consume=lambda stream: reports.append(analyse(stream)),
               deadline_s=ctx.backup_deadline_s)  # fmt: skip
    return reports[0]


def _stored_backup(ctx: executors.TaskContext, backup_id: str) -> Path:
    """The file of the backup the task reads: the one its node's shard holds."""
    with ctx.session_factory() as session:
        row = session.get(BackupRow, backup_id)
        if row is None or row.instance_id != ctx.instance_id:
            raise NotFound(f"backup {backup_id} not found", code=codes.BACKUP_NOT_FOUND)
        if row.status != "succeed":
            raise NotFound(f"backup {backup_id} has no file ({row.status})",
                           code=codes.BACKUP_NOT_FOUND)  # fmt: skip
        position = ctx.params.get("backup_file")
        if position is None:  # a task created before backups held one file per shard
            group = ctx.params.get("group_id")
            position = file_of_node(row, str(ctx.params["node_id"]), group).position
        found = next((f for f in row.files if f.position == int(position)), None)
        if found is None or not found.path:
            raise NotFound(f"backup {backup_id} has no file of node {ctx.params['node_id']}",
                           code=codes.BACKUP_NOT_FOUND)  # fmt: skip
        path = Path(found.path)
    if not path.is_file():
        raise NotFound(f"the file of backup {backup_id} is gone", code=codes.BACKUP_NOT_FOUND)
    return path


def _cluster_wide(
    ctx: executors.TaskContext, backup_id: str, progress: Callable[[int, int], None]
) -> ClusterReport:
    """Every shard file of the backup read one after another, then merged: memory stays that
    of one file's report (each shard's report is a bounded summary)."""
    with ctx.session_factory() as session:
        row = session.get(BackupRow, backup_id)
        if row is None or row.instance_id != ctx.instance_id or row.status != "succeed":
            raise NotFound(f"backup {backup_id} has no files to read",
                           code=codes.BACKUP_NOT_FOUND)  # fmt: skip
        files = [(f.group_name or f.node_id or f"file {f.position}", f.path)
                 for f in sorted(row.files, key=lambda f: f.position)]  # fmt: skip
    done = 0
    shards: list[ShardReport] = []
    for label, path in files:
        if not path or not Path(path).is_file():
            raise NotFound(f"the file of {label} in backup {backup_id} is gone",
                           code=codes.BACKUP_NOT_FOUND)  # fmt: skip

        def shard_progress(keys: int, at: int, before: int = done) -> None:
            progress(before + keys, at)

        shards.append(analyze_shard(label, Path(path), progress=shard_progress))
        done += shards[-1].report.total_num
    return merge_shard_reports(shards)


def run_offline(ctx: executors.TaskContext) -> executors.Outcome:
    def progress(keys: int, _bytes_read: int) -> None:
        if ctx.cancel.cancelled:
            raise TaskCancelled("the task was deleted")
        ctx.progress(keys, None)

    def analyse(source: Path | BinaryIO) -> OfflineReport:
        return analyze_rdb(source, progress=progress)

    backup_id = ctx.params.get("backup_id")
    if ctx.params.get("node_id") == ALL_SHARDS:
        merged = _cluster_wide(ctx, str(backup_id), progress)
        return executors.Outcome(num=merged.total_num, result=merged.to_dict(),
                                 keys_scanned=merged.total_num)  # fmt: skip
    if backup_id:
        report = analyse(_stored_backup(ctx, str(backup_id)))
    else:
        report = _fresh_backup(ctx, analyse)
    result: dict[str, Any] = report.to_dict()
    return executors.Outcome(num=report.total_num, result=result, keys_scanned=report.total_num)


executors.register(
    executors.ExecutorSpec(
        TaskKind.OFFLINE, run=run_offline, check=check_supported, needs_topology=False
    )
)
