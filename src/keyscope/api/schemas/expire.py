"""Expired-key scans: the scan record, its history page and the periodic-scan settings."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import Field, field_validator

from keyscope.api.schemas.common import Input, Output


def parse_first_scan_at(value: str) -> datetime:
    """``2023-07-07T15:00:05.000`` (UTC, zone optional) as an aware datetime."""
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1]
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError("first_scan_at must look like 2023-07-07T15:00:05.000 (UTC)") from exc
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def format_first_scan_at(moment: datetime | None) -> str | None:
    """The zone-less style DCS uses for ``first_scan_at``."""
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


class ExpireScanOut(Output):
    id: str
    instance_id: str
    status: str
    scan_type: str
    created_at: str | None
    started_at: str | None = None
    finished_at: str | None = None


class ExpireNodeOut(Output):
    """keyscope addition: one master's part of a scan."""

    node: str
    expired_keys: int
    scanned_keys: int
    seconds: float


class ExpireRecordOut(Output):
    id: str
    instance_id: str
    status: str
    scan_type: str
    num: int
    created_at: str | None
    started_at: str | None = None
    finished_at: str | None = None
    reason: str | None = None
    scanned_keys: int | None = None
    """keyscope addition: the keys SCAN walked, on every master (a finished scan)."""
    nodes: list[ExpireNodeOut] | None = None
    """keyscope addition: reclaimed, walked and seconds per master (a finished scan)."""


class ExpireHistoryOut(Output):
    instance_id: str
    total: int
    count: int
    records: list[ExpireRecordOut]


class ExpireConfigIn(Input):
    enable_auto_scan: bool | None = None
    first_scan_at: str | None = None
    interval: int | None = Field(default=None, ge=1)
    timeout: int | None = Field(default=None, ge=1)
    scan_keys_count: int | None = Field(default=None, ge=1, le=1_000_000)

    @field_validator("first_scan_at")
    @classmethod
    def _first(cls, value: str | None) -> str | None:
        if value is not None:
            parse_first_scan_at(value)
        return value


class ExpireConfigOut(Output):
    instance_id: str
    enable_auto_scan: bool
    first_scan_at: str | None
    interval: int
    timeout: int
    scan_keys_count: int
    updated_at: str | None
