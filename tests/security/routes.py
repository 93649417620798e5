"""Every operation of the app's route table, and how to address one with chosen ids.

The table is read from the app's own OpenAPI document (every route a router declares
appears there), so a route added later is covered by the parametrized tests without
editing them.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from keyscope.api.app import create_app
from keyscope.settings import Settings

_PARAM = re.compile(r"\{([a-z_]+)\}")


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    operation_id: str
    query: tuple[str, ...]
    has_body: bool
    body_required: bool

    @property
    def path_params(self) -> list[str]:
        return _PARAM.findall(self.path)

    @property
    def pages(self) -> bool:
        return "offset" in self.query or "limit" in self.query

    @property
    def signed(self) -> bool:
        """Whether the route needs a signature (the backup download carries a token instead)."""
        return self.operation_id != "DownloadBackupFile"

    def __str__(self) -> str:
        return self.operation_id

    def url(self, ids: dict[str, str]) -> str:
        """The wire path, each ``{param}`` replaced by ``ids[param]`` (a fresh UUID if absent)."""
        return _PARAM.sub(lambda m: ids.get(m.group(1)) or str(uuid.uuid4()), self.path)


def _operations() -> list[Operation]:
    spec: dict[str, Any] = create_app(Settings()).openapi()
    found = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            params = op.get("parameters", [])
            body = op.get("requestBody")
            found.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    operation_id=op["operationId"],
                    query=tuple(p["name"] for p in params if p["in"] == "query"),
                    has_body=body is not None,
                    body_required=bool(body and body.get("required")),
                )
            )
    return found


OPERATIONS: list[Operation] = _operations()
"""The route table, in declaration order."""

DESTRUCTIVE = frozenset({"DeleteInstance"})
"""Operations that would remove the shared instance of a test module if given its id."""
