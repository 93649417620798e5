"""Restores, DCS #32-#33: request and response shapes."""

from __future__ import annotations

from pydantic import Field

from keyscope.api.schemas.common import Input, Output


class RestoreIn(Input):
    backup_id: str = Field(min_length=1, max_length=64)
    remark: str | None = Field(default=None, max_length=1024)
    force: bool = False
    """keyscope extension: overwrite keys the instance holds already (default: refuse)."""


class RestoreId(Output):
    restore_id: str


class RestoreRecordOut(Output):
    backup_id: str | None
    restore_id: str
    backup_name: str | None
    updated_at: str | None
    restore_remark: str | None
    created_at: str | None
    progress: str
    error_code: str | None
    restore_name: str
    backup_remark: str | None
    status: str
    reason: str | None = None
    """keyscope extension: why a failed restore failed."""
    restored_keys: int | None = None
    """keyscope extension: keys written so far."""


class RestoreListOut(Output):
    total_num: int
    restore_record_response: list[RestoreRecordOut]
