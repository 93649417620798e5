"""Per-node statistics and capabilities read from INFO: memory, load, keyspace, eviction policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from keyscope import defaults
from keyscope.domain.topology import Node
from keyscope.redis.auth import Auth
from keyscope.redis.connection import Endpoint, info


class DbStats(NamedTuple):
    """One line of INFO keyspace."""

    db: int
    keys: int
    expires: int
    avg_ttl: int


@dataclass(frozen=True, slots=True)
class NodeStats:
    """What DCS shows for a node (ShowInstanceTopology): memory, load and keyspace."""

    used_memory: int
    max_memory: int
    instantaneous_ops_per_sec: int
    input_kbps: float
    output_kbps: float
    dbs: list[DbStats] = field(default_factory=list)
    maxmemory_policy: str = ""
    expired_keys: int = 0
    role: str = ""
    """``master`` or ``slave``, as the node itself says (after a failover, not the cache)."""
    total_system_memory: int = 0


def _int(values: dict[str, Any], name: str) -> int:
    try:
        return int(values.get(name, 0))
    except (TypeError, ValueError):
        return 0


def _float(values: dict[str, Any], name: str) -> float:
    try:
        return float(values.get(name, 0.0))
    except (TypeError, ValueError):
        return 0.0


def keyspace(values: dict[str, Any]) -> list[DbStats]:
    """The ``dbN`` lines of a parsed INFO, by db index."""
    dbs = []
    for name, value in values.items():
        if name.startswith("db") and name[2:].isdigit() and isinstance(value, dict):
            dbs.append(
                DbStats(
                    int(name[2:]),
                    _int(value, "keys"),
                    _int(value, "expires"),
                    _int(value, "avg_ttl"),
                )
            )
    return sorted(dbs)


def parse_node_stats(values: dict[str, Any]) -> NodeStats:
    return NodeStats(
        used_memory=_int(values, "used_memory"),
        max_memory=_int(values, "maxmemory"),
        instantaneous_ops_per_sec=_int(values, "instantaneous_ops_per_sec"),
        input_kbps=_float(values, "instantaneous_input_kbps"),
        output_kbps=_float(values, "instantaneous_output_kbps"),
        dbs=keyspace(values),
        maxmemory_policy=str(values.get("maxmemory_policy", "")),
        expired_keys=_int(values, "expired_keys"),
        role=str(values.get("role", "")),
        total_system_memory=_int(values, "total_system_memory"),
    )


def node_stats(node: Node, auth: Auth, *, timeout: float = defaults.CONNECT_TIMEOUT_S) -> NodeStats:
    """INFO of ``node``, as NodeStats; NodeUnreachable / NodeAuthFailed when it cannot be read."""
    return parse_node_stats(info(Endpoint(node.host, node.port, auth), timeout=timeout))
