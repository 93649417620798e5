"""Hot-key results as a file download (#13): CSV by default, JSON on request."""

from __future__ import annotations

import io
import json
from enum import StrEnum
from typing import Any

from fastapi import Response

from keyscope.domain import csvcells
from keyscope.domain.errors import InvalidInput
from keyscope.domain.tasks import TaskStatus
from keyscope.store.tables import TaskRow

COLUMNS = ("name", "name_base64", "type", "shard", "db", "size", "unit", "freq", "node",
           "cpu_share", "net_share")  # fmt: skip
"""The DCS HotkeysBody fields (the name's exact bytes after it, where it is escaped), then
keyscope's: the node, and the shares where measured."""


class ExportFormat(StrEnum):
    CSV = "csv"
    JSON = "json"


def export_keys(task: TaskRow, fmt: ExportFormat) -> Response:
    if task.status != TaskStatus.SUCCESS.value:
        raise InvalidInput(
            f"task {task.id} has no result to export (status {task.status})", code="DCS.4002"
        )
    keys: list[dict[str, Any]] = list((task.result or {}).get("keys", []))
    filename = f"hotkeys-{task.id}.{fmt.value}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if fmt is ExportFormat.JSON:
        body = json.dumps({"id": task.id, "instance_id": task.instance_id, "keys": keys})
        return Response(body, media_type="application/json", headers=headers)
    out = io.StringIO()
    writer = csvcells.writer(out)
    writer.writerow(COLUMNS)
    writer.writerows(csvcells.record_row(key, COLUMNS) for key in keys)
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)
