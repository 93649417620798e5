"""Backups, DCS operations #28-#31, plus keyscope's upload and the download behind the links.

A backup is a snapshot of one node taken over the replication protocol (no file access to
the node), kept as a private file (0600) under the backups folder. #31 hands out links to
this service's own download route, each carrying an encrypted, expiring token instead of a
request signature, so a browser or ``curl`` can fetch the file.
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
    BackupRecordOut,
    LinkOut,
    LinksIn,
    LinksOut,
)
from keyscope.api.schemas.common import format_time
from keyscope.domain import codes
from keyscope.domain.errors import Conflict, InvalidInput, NotFound, Unauthorized
from keyscope.store import backups as queries
from keyscope.store.tables import BackupRow, InstanceRow, NodeRow
from keyscope.tasks.backups import BackupJobs, SnapshotTarget, run_backup

router = APIRouter(prefix="/v2/{project_id}/instances/{instance_id}", tags=["backups"])

BUCKET_NAME = "keyscope"
TIME_FORMAT = "%Y%m%d%H%M%S"
RDB_MAGIC = b"REDIS"


def present(row: BackupRow) -> BackupRecordOut:
    done = row.status == "succeed"
    return BackupRecordOut(
        backup_id=row.id,
        period=f"{format_time(row.created_at)}/{format_time(row.updated_at)}",
        backup_name=f"{row.created_at.strftime(TIME_FORMAT)}_{row.id[:8]}",
        instance_id=row.instance_id,
        size=row.size,
        backup_type=row.backup_type,
        created_at=format_time(row.created_at),
        updated_at=format_time(row.updated_at),
        progress="100.00" if done else "0.00",
        error_code=row.error_code,
        remark=row.remark,
        status=row.status,
        is_support_restore="TRUE" if done else "FALSE",
        backup_format=row.backup_format,
        execution_at=format_time(row.execution_at),
        node_id=row.node_id,
        reason=row.reason if row.status == "failed" else None,
    )


def _pick_node(instance: InstanceRow, node_id: str | None) -> NodeRow:
    if node_id:
        node = next((n for n in instance.nodes if n.node_id == node_id), None)
        if node is None:
            raise NotFound(f"node {node_id} not found", code=codes.NODE_NOT_FOUND)
        return node
    masters = [n for n in instance.nodes if n.role == "master"] or list(instance.nodes)
    if not masters:
        raise NotFound("the instance has no node to back up", code=codes.NODE_NOT_FOUND)
    return masters[0]


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
    node = _pick_node(instance, body.node_id)
    row = queries.new_backup(session, instance_id=instance.id, node_id=node.node_id,
                             now=services.clock(), remark=body.remark)  # fmt: skip
    session.commit()
    target = SnapshotTarget(instance.id, node.host, node.port, services.runner.auth_of(instance))
    factory, backups_dir, clock, backup_id = (
        services.session_factory, services.runner.backups_dir, services.clock, row.id,
    )  # fmt: skip
    deadline_s = services.runner.backup_deadline_s
    BackupJobs.submit(
        backup_id,
        lambda: run_backup(factory, backup_id, target, backups_dir, clock, deadline_s=deadline_s),
        factory=factory,
        clock=clock,
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
    if BackupJobs.running(row.id):
        raise Conflict(f"backup {backup_id} is still being taken")
    if row.path:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(row.path)
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
    if row.status != "succeed" or not row.path:
        raise NotFound(f"backup {backup_id} has no file ({row.status})",
                       code=codes.BACKUP_NOT_FOUND)  # fmt: skip
    expires = int(time.time()) + body.expiration
    token = services.secrets.encrypt(f"{row.id}:{expires}")
    url = request.url_for(
        "download_backup_file",
        project_id=instance.project_id,
        instance_id=instance.id,
        backup_id=row.id,
    ).include_query_params(token=token)
    file_name = f"{row.id}.rdb"
    return LinksOut(
        file_path=f"{instance.id}/{file_name}",
        bucket_name=BUCKET_NAME,
        links=[LinkOut(file_name=file_name, link=str(url))],
    )


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
        granted_id, _, expires = services.secrets.decrypt(token).partition(":")
    except Exception as exc:
        raise Unauthorized("the download link is not valid") from exc
    if granted_id != backup_id or not expires.isdigit() or int(expires) < time.time():
        raise Unauthorized("the download link is not valid or has expired")
    row = queries.get_backup(session, instance_id, backup_id)
    instance = session.get(InstanceRow, instance_id)
    if instance is None or instance.project_id != project_id or not row.path:
        raise NotFound(f"backup {backup_id} not found", code=codes.BACKUP_NOT_FOUND)
    if not os.path.isfile(row.path):
        raise NotFound(f"the file of backup {backup_id} is gone", code=codes.BACKUP_NOT_FOUND)
    return FileResponse(row.path, media_type="application/octet-stream",
                        filename=f"{backup_id}.rdb")  # fmt: skip


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
    row = queries.new_backup(session, instance_id=instance.id, node_id=None, now=now,
                             remark=remark or "uploaded", status="succeed")  # fmt: skip
    dest = queries.backup_file(runner.backups_dir, instance.id, row.id)

    def write() -> None:
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)

    await run_in_threadpool(write)
    row.size = len(data)
    row.path = str(dest)
    session.commit()
    return BackupId(backup_id=row.id)
