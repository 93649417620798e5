"""Shapes shared by every resource: the DCS time format, the error body, page parameters."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict


def format_time(moment: datetime | None) -> str | None:
    """UTC as DCS writes it: ``2020-06-15T02:21:18.669Z`` (milliseconds, ``Z``)."""
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class Output(BaseModel):
    """Base of response models: unknown attributes are refused, None fields stay."""

    model_config = ConfigDict(extra="forbid")


class Input(BaseModel):
    """Base of request bodies: an unknown field is refused (400), never silently dropped.

    Every field the SDK's request models carry is declared, so the SDK never sends one.
    """

    model_config = ConfigDict(extra="forbid")


class ErrorBody(Output):
    error_code: str
    error_msg: str
    error_ext_msg: str | None = None
