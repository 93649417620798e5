"""The current time as the tasks see it; tests inject their own clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""Returns an aware UTC datetime."""


def utcnow() -> datetime:
    return datetime.now(UTC)
