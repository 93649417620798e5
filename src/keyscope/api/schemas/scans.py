"""Big-key and hot-key analyses (ScanTask, RecordsResponse, AutoscanConfig) as DCS shapes."""

from __future__ import annotations

from pydantic import Field, field_validator

from keyscope.api.schemas.common import Input, Output


class KeyOut(Output):
    """BigkeysBody, and HotkeysBody when ``freq`` is set (hot keys also carry extensions)."""

    name: str
    name_base64: str | None = None
    """keyscope addition: the key's exact bytes, where ``name`` is escaped (not UTF-8 text,
    or holding a backslash, a control or a bidi character; see docs/key-names.md)."""
    type: str
    shard: str | None = None
    db: int
    size: int
    unit: str
    memory_bytes: int | None = None
    """keyscope addition (big keys): the key's MEMORY USAGE in bytes, where the server gave it."""
    freq: int | None = None
    node: str | None = None
    """keyscope addition: the ``ip:port`` where the hot key was seen hottest."""
    cpu_share: float | None = None
    """keyscope addition: the key's share (0-1) of its shard's CPU time in the HOTKEYS window."""
    net_share: float | None = None
    """keyscope addition: the key's share (0-1) of its shard's network bytes in the window."""


class LfuFloorOut(Output):
    node: str
    lfu_log_factor: int
    lfu_decay_time: int
    min_freq: int
    from_server: bool


class MeasuredOut(Output):
    """keyscope addition: how a hot-key analysis told hot keys apart."""

    min_accesses: int | None = None
    lfu: list[LfuFloorOut] | None = None
    window_s: int | None = None
    min_share: float | None = None
    tracked_nodes: list[str] | None = None


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
    measured: MeasuredOut | None = None
    """keyscope addition (hot keys): the floor in accesses and counters per node, and the
    HOTKEYS window, that decided which keys are hot."""


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
