"""Per-instance gauges from the latest finished analysis of each kind, for ``/metrics``.

Pure: a task's kind and stored result in, samples out. Label values are bounded: ``type``
is one of the key types, ``prefix`` one of the top ``PREFIX_GAUGES`` prefixes by bytes of
the latest offline report (a proper prefix cut at a delimiter, never a whole key name),
left out when longer than ``PREFIX_LABEL_MAX_CHARS``. No key name is ever a label.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

DCS_TYPES = ("string", "list", "set", "zset", "hash")
"""Types every per-type gauge is published for, 0 where none was found: an alert on a
type then sees 0, not an absent series."""

PREFIX_GAUGES = 20
"""Prefixes per instance in ``keyscope_instance_prefix_bytes``."""

PREFIX_LABEL_MAX_CHARS = 128
"""Longer prefixes are not published (truncating could make two prefixes one series)."""

GAUGES = {
    "keyscope_instance_big_keys": "Big keys per type in the latest finished big-key scan.",
    "keyscope_instance_largest_key_bytes": (
        "Bytes of the largest key per type in the latest finished offline analysis."
    ),
    "keyscope_instance_hot_keys": "Hot keys in the latest finished hot-key scan.",
    "keyscope_instance_expired_reclaimed": (
        "Expired keys reclaimed by the latest finished expired-key scan."
    ),
    "keyscope_instance_prefix_bytes": (
        "Bytes of the top prefixes by bytes in the latest finished offline analysis."
    ),
    "keyscope_instance_last_success_age_seconds": (
        "Seconds since the latest successful analysis of each kind finished."
    ),
    "keyscope_instance_last_success_timestamp_seconds": (
        "Unix time at which the latest successful analysis of each kind finished."
    ),
}
"""Every per-instance gauge and its help text, in the order ``/metrics`` lists them."""


class Sample(NamedTuple):
    name: str
    labels: tuple[tuple[str, str], ...]
    value: float


def _per_type(counts: Mapping[str, int]) -> dict[str, int]:
    out = dict.fromkeys(DCS_TYPES, 0)
    out.update(counts)
    return out


def result_gauges(instance_id: str, kind: str, result: Mapping[str, Any]) -> list[Sample]:
    """The gauges one finished task of ``kind`` gives its instance."""
    inst = ("instance_id", instance_id)
    if kind == "bigkey":
        counts: dict[str, int] = {}
        for key in result.get("keys") or []:
            counts[str(key["type"])] = counts.get(str(key["type"]), 0) + 1
        return [Sample("keyscope_instance_big_keys", (inst, ("type", t)), n)
                for t, n in _per_type(counts).items()]  # fmt: skip
    if kind == "hotkey":
        return [Sample("keyscope_instance_hot_keys", (inst,), len(result.get("keys") or []))]
    if kind == "expire":
        reclaimed = int(result.get("expired_keys") or 0)
        return [Sample("keyscope_instance_expired_reclaimed", (inst,), reclaimed)]
    if kind == "offline":
        return _offline_gauges(inst, result)
    return []


def _offline_gauges(inst: tuple[str, str], result: Mapping[str, Any]) -> list[Sample]:
    largest: dict[str, int] = {}
    for key in result.get("largest_keys") or []:
        t = str(key["type"])
        largest[t] = max(largest.get(t, 0), int(key["bytes"]))
    out = [Sample("keyscope_instance_largest_key_bytes", (inst, ("type", t)), n)
           for t, n in _per_type(largest).items()]  # fmt: skip
    prefixes = [p for p in result.get("largest_key_prefixes") or []
                if len(str(p["key_prefix"])) <= PREFIX_LABEL_MAX_CHARS]  # fmt: skip
    prefixes.sort(key=lambda p: (-int(p["bytes"]), str(p["type"]), str(p["key_prefix"])))
    out += [
        Sample("keyscope_instance_prefix_bytes",
               (inst, ("type", str(p["type"])), ("prefix", str(p["key_prefix"]))), int(p["bytes"]))
        for p in prefixes[:PREFIX_GAUGES]
    ]  # fmt: skip
    return out


ANALYSES = ("bigkey", "hotkey", "expire", "offline")
"""The kinds that are analyses (a restore is a task, not one)."""


def age_gauges(instance_id: str, kind: str, finished_at_s: float, now_s: float) -> list[Sample]:
    """How old the latest successful analysis of ``kind`` is (none for a non-analysis)."""
    if kind not in ANALYSES:
        return []
    labels = (("instance_id", instance_id), ("kind", kind))
    return [
        Sample("keyscope_instance_last_success_age_seconds", labels,
               round(max(now_s - finished_at_s, 0.0), 3)),
        Sample("keyscope_instance_last_success_timestamp_seconds", labels,
               round(finished_at_s, 3)),
    ]  # fmt: skip


def escape_label(value: str) -> str:
    """A label value in the Prometheus text format."""
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def render_samples(samples: list[Sample]) -> list[str]:
    """Lines of the text format: each gauge's HELP and TYPE once, then its samples."""
    by_name: dict[str, list[Sample]] = {name: [] for name in GAUGES}
    for s in samples:
        by_name[s.name].append(s)
    lines: list[str] = []
    for name, help_text in GAUGES.items():
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
        for s in by_name[name]:
            labels = ",".join(f'{k}="{escape_label(v)}"' for k, v in s.labels)
            value = int(s.value) if float(s.value).is_integer() else s.value
            lines.append(f"{name}{{{labels}}} {value}")
    return lines
