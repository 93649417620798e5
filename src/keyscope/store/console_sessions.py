"""Queries on console sessions: open one (bounded per access key), check one, end one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from keyscope.store.tables import ConsoleSessionRow


def open_session(
    session: Session, session_id: str, access_key: str, *, now: datetime,
    expires_at: datetime, keep: int,
) -> None:  # fmt: skip
    """Record a new console session; the access key's oldest beyond ``keep`` and every
    expired one are deleted (their tokens stop working)."""
    session.execute(delete(ConsoleSessionRow).where(ConsoleSessionRow.expires_at <= now))
    session.add(ConsoleSessionRow(id=session_id, access_key=access_key, created_at=now,
                                  expires_at=expires_at))  # fmt: skip
    session.flush()
    newest = select(ConsoleSessionRow.id).where(ConsoleSessionRow.access_key == access_key)
    newest = newest.order_by(ConsoleSessionRow.created_at.desc(), ConsoleSessionRow.id)
    kept = list(session.scalars(newest.limit(keep)))
    session.execute(
        delete(ConsoleSessionRow).where(
            ConsoleSessionRow.access_key == access_key, ConsoleSessionRow.id.not_in(kept)
        )
    )


def is_open(session: Session, session_id: str, access_key: str, *, now: datetime) -> bool:
    """Whether the session exists, belongs to ``access_key`` and has not expired."""
    row = session.get(ConsoleSessionRow, session_id)
    return row is not None and row.access_key == access_key and row.expires_at > now


def end_session(session: Session, session_id: str) -> None:
    """Delete the session (its token stops working); nothing if it is already gone."""
    session.execute(delete(ConsoleSessionRow).where(ConsoleSessionRow.id == session_id))
