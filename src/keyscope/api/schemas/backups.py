"""Backups, DCS #28-#31, and keyscope's upload: request and response shapes."""

from __future__ import annotations

from pydantic import Field

from keyscope.api.schemas.common import Input, Output


class BackupIn(Input):
    remark: str | None = Field(default=None, max_length=1024)
    backup_format: str | None = Field(default=None, max_length=8)
    node_id: str | None = Field(default=None, max_length=64)
    """keyscope extension: the one node to back up (default: every shard, each from its
    replica where it has one, else its master)."""


class BackupId(Output):
    backup_id: str


class BackupNodeOut(Output):
    """keyscope extension: one file of a backup, the shard it holds and the node it was read
    from."""

    node_id: str | None
    group_id: str | None
    group_name: str | None
    shard: str | None
    node_ip: str | None
    node_port: int | None
    status: str
    size: int
    reason: str | None = None


class BackupRecordOut(Output):
    backup_id: str
    period: str | None
    backup_name: str
    instance_id: str
    size: int
    backup_type: str
    created_at: str | None
    updated_at: str | None
    progress: str
    error_code: str | None
    remark: str | None
    status: str
    is_support_restore: str
    backup_format: str
    execution_at: str | None
    node_id: str | None = None
    nodes: list[BackupNodeOut] = Field(default_factory=list)
    """keyscope extension: the files the backup holds, one per shard."""
    reason: str | None = None
    """keyscope addition: why a failed backup failed, naming the shard (the SDK ignores it)."""


class BackupListOut(Output):
    total_num: int
    backup_record_response: list[BackupRecordOut]


class LinksIn(Input):
    expiration: int = Field(ge=300, le=86400)


class LinkOut(Output):
    file_name: str
    link: str


class LinksOut(Output):
    file_path: str
    bucket_name: str
    links: list[LinkOut]
