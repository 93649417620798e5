"""The topology entry of one node (#27) from its cached row and its live statistics."""

from __future__ import annotations

from keyscope.api.schemas.nodes import Bandwidth, DbStats, Dims, TopologyNodeOut
from keyscope.redis.info import NodeStats
from keyscope.store.tables import NodeRow

_MB = 1024 * 1024


def _mb(value: int) -> str:
    return str(round(value / _MB, 2))


def topology_node(
    node: NodeRow, group_id: str, stats: NodeStats | None, relation: NodeRow | None
) -> TopologyNodeOut:
    """``group_id`` as the other node look-ups show it; ``stats`` None: the node is down."""
    common = {
        "node_id": node.node_id,
        "node_name": f"{node.group_name}-{node.host}:{node.port}",
        "ip": node.host,
        "port": str(node.port),
        "node_type": node.role,
        "relation_ip": relation.host if relation else None,
        "relation_port": str(relation.port) if relation else None,
        "group_id": group_id,
        "dims": Dims(dim_k="dcs_cache_node", dim_v=node.node_id),
    }
    if stats is None:
        return TopologyNodeOut(
            **common, status="Inactive", max_memory=None, used_memory=None, qps=None,
            bandwidth=None, db_num=None, dbs=None, keyspaces=[],
        )  # fmt: skip
    dbs = [
        DbStats(db_idx=str(db), keys=str(keys), expires=str(expires), avg_ttl=str(ttl))
        for db, keys, expires, ttl in stats.dbs
    ]
    db0 = next((d for d in dbs if d.db_idx == "0"), None)
    return TopologyNodeOut(
        **common,
        status="Active",
        max_memory=_mb(stats.max_memory),
        used_memory=_mb(stats.used_memory),
        qps=str(stats.instantaneous_ops_per_sec),
        bandwidth=Bandwidth(input=str(stats.input_kbps), output=str(stats.output_kbps)),
        db_num=str(len(dbs)),
        dbs=db0 or DbStats(db_idx="0", keys="0", expires="0", avg_ttl="0"),
        keyspaces=dbs,
    )
