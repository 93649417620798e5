"""Auto-scan settings: daily big/hot-key schedules and the periodic expired-key scan."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from keyscope.domain.tasks import TaskKind
from keyscope.store.tables import AutoscanConfigRow, ExpireAutoscanConfigRow

DEFAULT_EXPIRE_INTERVAL_S = 24 * 3600
DEFAULT_EXPIRE_TIMEOUT_S = 2 * DEFAULT_EXPIRE_INTERVAL_S
DEFAULT_EXPIRE_SCAN_KEYS_COUNT = 10


def autoscan_config(
    session: Session, instance_id: str, kind: TaskKind, *, now: datetime
) -> AutoscanConfigRow:
    """The daily schedule of ``kind`` on the instance; a disabled default (not yet added to
    the session) when none was ever set: ``session.add`` it to keep it."""
    row = session.get(AutoscanConfigRow, (instance_id, kind.value))
    if row is None:
        row = AutoscanConfigRow(
            instance_id=instance_id,
            kind=kind.value,
            enable_auto_scan=False,
            schedule_at=[],
            updated_at=now,
        )
    return row


def expire_config(session: Session, instance_id: str, *, now: datetime) -> ExpireAutoscanConfigRow:
    """The periodic expired-key scan of the instance; a disabled default (not yet added to
    the session) when none was ever set: ``session.add`` it to keep it."""
    row = session.get(ExpireAutoscanConfigRow, instance_id)
    if row is None:
        row = ExpireAutoscanConfigRow(
            instance_id=instance_id,
            enable_auto_scan=False,
            first_scan_at=None,
            interval=DEFAULT_EXPIRE_INTERVAL_S,
            timeout=DEFAULT_EXPIRE_TIMEOUT_S,
            scan_keys_count=DEFAULT_EXPIRE_SCAN_KEYS_COUNT,
            updated_at=now,
        )
    return row


def enabled_autoscan_configs(session: Session) -> list[AutoscanConfigRow]:
    return list(
        session.scalars(select(AutoscanConfigRow).where(AutoscanConfigRow.enable_auto_scan))
    )


def enabled_expire_configs(session: Session) -> list[ExpireAutoscanConfigRow]:
    return list(
        session.scalars(
            select(ExpireAutoscanConfigRow).where(ExpireAutoscanConfigRow.enable_auto_scan)
        )
    )
