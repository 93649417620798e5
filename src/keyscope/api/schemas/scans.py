"""Big-key and hot-key analyses (ScanTask, RecordsResponse, AutoscanConfig) as DCS shapes."""

from __future__ import annotations

from pydantic import Field, field_validator

from keyscope.api.schemas.common import Input, Output


class KeyOut(Output):
    """BigkeysBody, and HotkeysBody when ``freq`` is set."""

    name: str
    type: str
    shard: str | None = None
    db: int
    size: int
    unit: str
    freq: int | None = None


class ScanTaskOut(Output):
    id: str
    instance_id: str
    status: str
    scan_type: str
    created_at: str | None
    started_at: str | None = None
    finished_at: str | None = None
    num: int
    keys: list[KeyOut] | None = None
    reason: str | None = None
    """keyscope addition: why a failed task failed (the SDK ignores it)."""
    incomplete: bool | None = None
    """keyscope addition: true when a cluster resharded during the scan (keys may be missed
    or repeated); absent otherwise."""


class RecordOut(Output):
    id: str
    status: str
    scan_type: str
    created_at: str | None
    started_at: str | None = None
    finished_at: str | None = None


class RecordsOut(Output):
    instance_id: str
    count: int
    records: list[RecordOut]


def check_daily_times(values: list[str]) -> list[str]:
    seen: list[str] = []
    for value in values:
        hours, sep, minutes = value.partition(":")
        ok = sep and len(hours) == 2 and len(minutes) == 2 and hours.isdigit()
        if not ok or not minutes.isdigit() or int(hours) > 23 or int(minutes) > 59:
            raise ValueError(f"schedule_at values must be HH:MM (UTC), got {value[:16]!r}")
        if value not in seen:
            seen.append(value)
    return seen


class AutoscanConfigIn(Input):
    enable_auto_scan: bool
    schedule_at: list[str] = Field(max_length=48)

    @field_validator("schedule_at")
    @classmethod
    def _times(cls, value: list[str]) -> list[str]:
        return check_daily_times(value)


class AutoscanConfigOut(Output):
    instance_id: str
    enable_auto_scan: bool
    schedule_at: list[str]
    updated_at: str | None
