"""Task kinds, statuses and scan types shared by every analysis."""

from __future__ import annotations

from enum import StrEnum


class TaskStatus(StrEnum):
    """Lifecycle of an analysis: waiting → running → success | failed."""

    WAITING = "waiting"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        return self in (TaskStatus.SUCCESS, TaskStatus.FAILED)


class ScanType(StrEnum):
    """Who asked for the analysis: a person (manual) or a schedule (auto)."""

    MANUAL = "manual"
    AUTO = "auto"


class TaskKind(StrEnum):
    """The four analyses of the DCS cache-analysis family."""

    BIGKEY = "bigkey"
    HOTKEY = "hotkey"
    EXPIRE = "expire"
    OFFLINE = "offline"
    RESTORE = "restore"
    """Not an analysis: a backup written back with RESTORE (DCS #32-#33), same lifecycle."""
