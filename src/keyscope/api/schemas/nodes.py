"""Node look-ups (#23-#27): logical nodes, shards and replicas, topology with stats."""

from __future__ import annotations

from pydantic import BaseModel

from keyscope.api.schemas.common import Output


class Dimension(Output):
    name: str
    value: str


class NodeInfoOut(Output):
    logical_node_id: str
    name: str
    status: str
    az_code: str
    node_role: str
    node_type: str
    node_ip: str
    node_port: str
    node_id: str
    priority_weight: int
    is_access: bool
    group_id: str
    group_name: str
    is_remove_ip: bool
    replication_id: str
    dimensions: list[Dimension]


class NodesOut(Output):
    instance_id: str
    total: int
    nodes: list[NodeInfoOut]


class InstanceNodesOut(Output):
    instance_id: str
    node_count: int
    nodes: list[NodeInfoOut]


class BatchNodesOut(Output):
    count: int
    instances: list[InstanceNodesOut]


class ReplicationOut(Output):
    replication_role: str
    replication_ip: str
    is_replication: bool
    replication_id: str
    node_id: str
    status: str
    az_code: str
    dimensions: list[Dimension]


class GroupOut(Output):
    group_id: str
    group_name: str
    replication_list: list[ReplicationOut]


class GroupsOut(Output):
    group_count: int
    group_list: list[GroupOut]


class Bandwidth(BaseModel):
    input: str
    output: str


class DbStats(BaseModel):
    db_idx: str
    keys: str
    expires: str
    avg_ttl: str


class Dims(BaseModel):
    dim_k: str
    dim_v: str


class TopologyNodeOut(Output):
    node_id: str
    node_name: str
    ip: str
    port: str
    node_type: str
    max_memory: str | None
    used_memory: str | None
    qps: str | None
    bandwidth: Bandwidth | None
    db_num: str | None
    dbs: DbStats | None
    """db0, the one DCS reports (the SDK reads one object); every db is in ``keyspaces``."""
    relation_ip: str | None
    relation_port: str | None
    group_id: str
    status: str
    dims: Dims
    keyspaces: list[DbStats]
    """keyscope: one entry per db that holds keys (INFO keyspace)."""


class TopologyOut(Output):
    redis_server: list[TopologyNodeOut]
    cluster_proxy: list[TopologyNodeOut]
    cluster_lvs: list[TopologyNodeOut]
    cluster_admin: list[TopologyNodeOut]
    master: list[TopologyNodeOut]
    vpcendpoint: list[TopologyNodeOut]
    elb: list[TopologyNodeOut]
