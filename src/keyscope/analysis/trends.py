"""One point of an instance's history per finished analysis: the figures the trend charts
draw, cut from the stored result (pure; the route reads the rows)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

TOP_PREFIXES = 5
"""Prefixes per offline point: its largest by bytes."""


def trend_point(kind: str, result: Mapping[str, Any]) -> dict[str, Any]:
    """The figures of one finished analysis of ``kind``."""
    if kind == "offline":
        prefixes = sorted(result.get("largest_key_prefixes") or [],
                          key=lambda p: (-int(p["bytes"]), str(p["key_prefix"])))  # fmt: skip
        return {
            "total_bytes": int(result.get("total_bytes") or 0),
            "total_num": int(result.get("total_num") or 0),
            "type_bytes": {t["type"]: t["bytes"] for t in result.get("type_bytes") or []},
            "type_num": {t["type"]: t["num"] for t in result.get("type_num") or []},
            "top_prefixes": [
                {"key_prefix": p["key_prefix"], "type": p["type"], "bytes": p["bytes"]}
                for p in prefixes[:TOP_PREFIXES]
            ],
        }
    if kind == "expire":
        return {"expired_keys": int(result.get("expired_keys") or 0)}
    keys = result.get("keys") or []
    per_type: dict[str, int] = {}
    for key in keys:
        per_type[str(key["type"])] = per_type.get(str(key["type"]), 0) + 1
    return {"num": len(keys), "type_num": per_type}
