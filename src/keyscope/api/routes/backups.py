"""Backups, DCS operations #28-#31, plus keyscope's upload and the download behind the links.

A backup of an instance holds one snapshot per shard, each taken over the replication
protocol (no file access to the node) from the shard's replica where it has one, else its
master, and kept as a private file (0600) under the backups folder; the record lists them
in ``nodes``. #31 hands out one link per file to this service's own download route, each
carrying an encrypted, expiring token instead of a request signature, so a browser or
``curl`` can fetch the file.
"""

from __future__ import annotations

import contextlib
import os
import time
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from keyscope import defaults
from keyscope.api.deps import InstanceDep, RunnerDep, ServicesDep, SessionDep
from keyscope.api.schemas.backups import (
    BackupId,
    BackupIn,
    BackupListOut,
    BackupNodeOut,
    BackupRecordOut,
    LinkOut,
    LinksIn,
    LinksOut,
)
from keyscope.api.schemas.common import format_time
from keyscope.domain import codes
from keyscope.domain.errors import Conflict, InvalidInput, NotFound, Unauthorized
from keyscope.store import backups as queries
from keyscope.store.backups import FileSource
from keyscope.store.tables import BackupFileRow, BackupRow, InstanceRow, NodeRow
from keyscope.tasks.backups import UNFINISHED, BackupJobs, run_backup

router = APIRouter(prefix="/v2/{project_id}/instances/{instance_id}", tags=["backups"])

BUCKET_NAME = "keyscope"
TIME_FORMAT = "%Y%m%d%H%M%S"
RDB_MAGIC = b"REDIS"


def _present_file(f: BackupFileRow) -> BackupNodeOut:
    return BackupNodeOut(
        node_id=f.node_id, group_id=f.group_id, group_name=f.group_name, shard=f.shard,
        node_ip=f.host, node_port=f.port, status=f.status, size=f.size, reason=f.reason,
    )  # fmt: skip


def present(row: BackupRow) -> BackupRecordOut:
    done = row.status == "succeed"
    files = list(row.files)
    taken = sum(f.status == "succeed" for f in files)
    progress = 100.0 if done else 100.0 * taken / len(files) if files else 0.0
    failed = next((f.reason for f in files if f.reason and f.reason.startswith("shard ")), None)
    return BackupRecordOut(
        backup_id=row.id,
        period=f"{format_time(row.created_at)}/{format_time(row.updated_at)}",
        backup_name=f"{row.created_at.strftime(TIME_FORMAT)}_{row.id[:8]}",
        instance_id=row.instance_id,
        size=row.size,
        backup_type=row.backup_type,
        created_at=format_time(row.created_at),
        updated_at=format_time(row.updated_at),
        progress=f"{progress:.2f}",
        error_code=row.error_code,
        remark=row.remark,
        status=row.status,
        is_support_restore="TRUE" if done else "FALSE",
        backup_format=row.backup_format,
        execution_at=format_time(row.execution_at),
        node_id=row.node_id,
        nodes=[_present_file(f) for f in files],
        reason=(row.reason or failed) if row.status == "failed" else None,
    )


def _source(node: NodeRow, master: NodeRow | None) -> FileSource:
    shard = f"{(master or node).host}:{(master or node).port}"
    return FileSource(node_id=node.node_id, host=node.host, port=node.port,
                      group_id=node.group_id, group_name=node.group_name, shard=shard)  # fmt: skip


def backup_sources(instance: InstanceRow, node_id: str | None) -> list[FileSource]:
    """What a backup reads: the one node asked for, else every shard from its replica where
    it has one (as DCS backs up a standby), else its master."""
    nodes = sorted(instance.nodes, key=lambda n: n.position)
    masters = {n.group_id: n for n in nodes if n.role == "master"}
    if node_id:
        node = next((n for n in nodes if n.node_id == node_id), None)
        if node is None:
            raise NotFound(f"node {node_id} not found", code=codes.NODE_NOT_FOUND)
        return [_source(node, masters.get(node.group_id))]
    sources: list[FileSource] = []
    for group_id in dict.fromkeys(n.group_id for n in nodes):
        members = [n for n in nodes if n.group_id == group_id]
        replicas = [n for n in members if n.role != "master"]
        master = masters.get(group_id)
        sources.append(_source(replicas[0] if replicas else master or members[0], master))
    if not sources:
        raise NotFound("the instance has no node to back up", code=codes.NODE_NOT_FOUND)
    return sources


def _parse_time(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError as exc:
        raise InvalidInput(f"{name} must be yyyyMMddHHmmss", code=codes.INVALID_FIELD) from exc


@router.post("/backups", operation_id="CopyInstance", response_model=BackupId)
def copy_instance(
    *,
    instance: InstanceDep,
    session: SessionDep,
    services: ServicesDep,
    body: BackupIn | None = None,
) -> BackupId:
    body = body or BackupIn()
    if body.backup_format not in (None, "", "rdb"):
        raise InvalidInput("only rdb backups are supported", code=codes.INVALID_FIELD)
    sources = backup_sources(instance, body.node_id)
    row = queries.new_backup(session, instance_id=instance.id, sources=sources,
                             now=services.clock(), remark=body.remark,
                             limit=services.runner.max_backups_per_instance)  # fmt: skip
    session.commit()
    auth = services.runner.auth_of(instance)
    factory, backups_dir, clock, backup_id = (
        services.session_factory, services.runner.backups_dir, services.clock, row.id,
    )  # fmt: skip
    deadline_s = services.runner.backup_deadline_s
    BackupJobs.submit(
        backup_id,
        lambda: run_backup(
            factory, backup_id, backups_dir, clock, auth=auth, deadline_s=deadline_s
        ),
        factory=factory,
        clock=clock,
        instance_id=instance.id,
    )
    return BackupId(backup_id=backup_id)


@router.get("/backups", operation_id="ListBackupRecords", response_model=BackupListOut)
def list_backup_records(
    *,
    instance: InstanceDep,
    session: SessionDep,
    begin_time: str | None = None,
    end_time: str | None = None,
    offset: Annotated[int, Query(ge=0, le=defaults.MAX_LIST_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=0, le=1000)] = defaults.DEFAULT_LIST_LIMIT,
) -> BackupListOut:
    total, rows = queries.list_backups(
        session, instance.id, begin=_parse_time(begin_time, "begin_time"),
        end=_parse_time(end_time, "end_time"), offset=offset, limit=limit,
    )  # fmt: skip
    return BackupListOut(total_num=total, backup_record_response=[present(r) for r in rows])


@router.delete("/backups/{backup_id}", operation_id="DeleteBackupFile", status_code=204)
def delete_backup_file(
    instance: InstanceDep, session: SessionDep, backup_id: Annotated[str, Path()]
) -> Response:
    row = queries.get_backup(session, instance.id, backup_id)
    if row.status in UNFINISHED or BackupJobs.running(row.id):
        raise Conflict(f"backup {backup_id} is still being taken", code=codes.BACKUP_IN_PROGRESS)
    for path in {row.path, *(f.path for f in row.files)}:
        if path:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
    session.delete(row)
    session.commit()
    return Response(status_code=204)


@router.post(
    "/backups/{backup_id}/links", operation_id="ListBackupFileLinks", response_model=LinksOut
)
def list_backup_file_links(
    *,
    instance: InstanceDep,
    session: SessionDep,
    services: ServicesDep,
    request: Request,
    backup_id: Annotated[str, Path()],
    body: LinksIn,
) -> LinksOut:
    row = queries.get_backup(session, instance.id, backup_id)
    files = [f for f in row.files if f.path]
    if row.status != "succeed" or not files:
        raise NotFound(f"backup {backup_id} has no file ({row.status})",
                       code=codes.BACKUP_NOT_FOUND)  # fmt: skip
    expires = int(time.time()) + body.expiration
    links = []
    for f in files:
        token = services.secrets.encrypt(f"{row.id}:{expires}:{f.position}")
        url = request.url_for(
            "download_backup_file",
            project_id=instance.project_id,
            instance_id=instance.id,
            backup_id=row.id,
        ).include_query_params(token=token)
        links.append(LinkOut(file_name=_file_name(row, f), link=str(url)))
    folder = f"{instance.id}/{links[0].file_name}" if len(links) == 1 else instance.id
    return LinksOut(file_path=folder, bucket_name=BUCKET_NAME, links=links)


def _file_name(row: BackupRow, f: BackupFileRow) -> str:
    return f"{row.id}.rdb" if len(row.files) == 1 else f"{row.id}.{f.position}.rdb"


@router.get(
    "/backups/{backup_id}/download", operation_id="DownloadBackupFile",
    name="download_backup_file", response_class=FileResponse,
)  # fmt: skip
def download_backup_file(
    *,
    services: ServicesDep,
    session: SessionDep,
    project_id: Annotated[str, Path()],
    instance_id: Annotated[str, Path()],
    backup_id: Annotated[str, Path()],
    token: Annotated[str, Query(max_length=4096)],
) -> FileResponse:
    try:
        granted_id, expires, position = (services.secrets.decrypt(token) + ":0").split(":")[:3]
    except Exception as exc:
        raise Unauthorized("the download link is not valid") from exc
    if granted_id != backup_id or not expires.isdigit() or int(expires) < time.time():
        raise Unauthorized("the download link is not valid or has expired")
    row = queries.get_backup(session, instance_id, backup_id)
    instance = session.get(InstanceRow, instance_id)
    f = next((f for f in row.files if str(f.position) == position), None)
    if instance is None or instance.project_id != project_id or f is None or not f.path:
        raise NotFound(f"backup {backup_id} not found", code=codes.BACKUP_NOT_FOUND)
    if not os.path.isfile(f.path):
        raise NotFound(f"the file of backup {backup_id} is gone", code=codes.BACKUP_NOT_FOUND)
    return FileResponse(f.path, media_type="application/octet-stream",
                        filename=_file_name(row, f))  # fmt: skip


def upload_size(request: Request) -> int:
    """Refuse an upload before its body is read: it must announce a length within the limit."""
    length = request.headers.get("content-length", "")
    if not length.isdigit():
        raise InvalidInput("an upload needs a Content-Length", code=codes.INVALID_REQUEST)
    if int(length) > defaults.BACKUP_UPLOAD_MAX_BYTES:
        raise InvalidInput(
            f"the file is larger than {defaults.BACKUP_UPLOAD_MAX_BYTES} bytes",
            code=codes.INVALID_REQUEST,
        )
    return int(length)


@router.post("/backups/upload", operation_id="UploadBackupFile", response_model=BackupId)
async def upload_backup_file(
    *,
    size: Annotated[int, Depends(upload_size)],
    instance: InstanceDep,
    session: SessionDep,
    services: ServicesDep,
    runner: RunnerDep,
    request: Request,
    remark: Annotated[str | None, Query(max_length=1024)] = None,
) -> BackupId:
    data = await request.body()  # already read (and size-checked) to verify the signature
    if len(data) != size or not data.startswith(RDB_MAGIC):
        raise InvalidInput("the body is not an RDB file", code=codes.INVALID_REQUEST)
    now = services.clock()
    row = queries.new_backup(session, instance_id=instance.id, sources=[queries.UPLOADED],
                             now=now, remark=remark or "uploaded", status="succeed",
                             limit=runner.max_backups_per_instance)  # fmt: skip
    dest = queries.backup_file(runner.backups_dir, instance.id, row.id)

    def write() -> None:
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)

    await run_in_threadpool(write)
    row.size = row.files[0].size = len(data)
    row.path = row.files[0].path = str(dest)
    session.commit()
    return BackupId(backup_id=row.id)
