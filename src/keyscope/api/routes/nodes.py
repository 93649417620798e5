"""Node look-ups, DCS operations #23-#27: where the ``node_id`` of later operations comes from.

The nodes are cached at registration. The per-instance look-ups (#23, #25-#27) first re-read
the deployment's shape, so roles follow a failover, and answer from the cache when no address
answers (then for 10 s without trying); the fleet-wide #24 answers from the cache alone (every
analysis refreshes it too).
Every node's ``status`` is read live (INFO within a short deadline, all nodes at once):
``Active`` when it answers, ``Inactive`` when it does not; #27 adds its statistics.
The ``group_id`` of a single or master/replica instance is its own (derived from the
instance id), so no two instances share one.
"""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from keyscope import defaults
from keyscope.api.deps import InstanceDep, ProjectId, RunnerDep, SessionDep
from keyscope.api.schemas.instance_view import AZ_CODE
from keyscope.api.schemas.nodes import (
    BatchNodesOut,
    Dimension,
    GroupOut,
    GroupsOut,
    InstanceNodesOut,
    NodeInfoOut,
    NodesOut,
    ReplicationOut,
    TopologyNodeOut,
    TopologyOut,
)
from keyscope.api.schemas.nodes_stats import topology_node
from keyscope.domain import codes
from keyscope.domain.errors import NotFound
from keyscope.domain.topology import InstanceMode
from keyscope.redis.info import NodeStats
from keyscope.store import instances as queries
from keyscope.store.tables import InstanceRow, NodeRow

router = APIRouter(prefix="/v2/{project_id}", tags=["nodes"])


def _refreshed(instance: InstanceDep, session: SessionDep, runner: RunnerDep) -> InstanceRow:
    """The instance with its cached nodes re-read from the deployment (roles follow a
    failover); when no address answers, the cache as it was."""
    if runner.refresh_nodes(instance):  # updates the cache in its own transaction
        session.expire(instance, ["nodes"])
    return instance


FreshInstanceDep = Annotated[InstanceRow, Depends(_refreshed)]


Alive = dict[str, NodeStats | None]
"""Live INFO figures by node id; None: the node did not answer."""


def _alive(runner: RunnerDep, *instances: InstanceRow) -> dict[str, Alive]:
    """The live figures of every node of ``instances``, by instance id (one check for all)."""
    states = runner.live_states({i.id: runner.deployment_of(i) for i in instances})
    return {key: dict(state.stats) for key, state in states.items()}


def _status(alive: Alive, node: NodeRow) -> str:
    return "Active" if alive.get(node.node_id) is not None else "Inactive"


def group_id_of(instance: InstanceRow, node: NodeRow) -> str:
    """A cluster shard's id comes from its master's cluster id; the one shard of any other
    instance is named the same everywhere, so its id is made the instance's own."""
    if instance.mode == InstanceMode.CLUSTER.value:
        return node.group_id
    return hashlib.md5(f"{instance.id}:{node.group_id}".encode()).hexdigest()


def _dimensions(instance_id: str, node_id: str) -> list[Dimension]:
    return [
        Dimension(name="dcs_instance_id", value=instance_id),
        Dimension(name="dcs_cache_node", value=node_id),
    ]


def _node_info(instance: InstanceRow, node: NodeRow, alive: Alive) -> NodeInfoOut:
    return NodeInfoOut(
        logical_node_id=node.node_id,
        name=f"{node.group_name}-{node.host}:{node.port}",
        status=_status(alive, node),
        az_code=AZ_CODE,
        node_role="redis-server",
        node_type=node.role,
        node_ip=node.host,
        node_port=str(node.port),
        node_id=node.node_id,
        priority_weight=100,
        is_access=True,
        group_id=group_id_of(instance, node),
        group_name=node.group_name,
        is_remove_ip=False,
        replication_id=node.node_id,
        dimensions=_dimensions(instance.id, node.node_id),
    )


def _replication(instance: InstanceRow, node: NodeRow, alive: Alive) -> ReplicationOut:
    return ReplicationOut(
        replication_role=node.role,
        replication_ip=node.host,
        is_replication=node.role == "slave",
        replication_id=node.node_id,
        node_id=node.node_id,
        status=_status(alive, node),
        az_code=AZ_CODE,
        dimensions=_dimensions(instance.id, node.node_id),
    )


def _groups(instance: InstanceRow, alive: Alive) -> list[GroupOut]:
    groups: dict[str, GroupOut] = {}
    for node in instance.nodes:
        group_id = group_id_of(instance, node)
        group = groups.setdefault(
            group_id, GroupOut(group_id=group_id, group_name=node.group_name, replication_list=[])
        )
        group.replication_list.append(_replication(instance, node, alive))
    return list(groups.values())


@router.get(
    "/instances/{instance_id}/logical-nodes", operation_id="ShowNodesInformation",
    response_model=NodesOut,
)  # fmt: skip
def show_nodes_information(instance: FreshInstanceDep, runner: RunnerDep) -> NodesOut:
    alive = _alive(runner, instance)[instance.id]
    nodes = [_node_info(instance, n, alive) for n in instance.nodes]
    return NodesOut(instance_id=instance.id, total=len(nodes), nodes=nodes)


@router.get(
    "/instances-logical-nodes", operation_id="BatchShowNodesInformation",
    response_model=BatchNodesOut,
)  # fmt: skip
def batch_show_nodes_information(
    project_id: ProjectId,
    session: SessionDep,
    runner: RunnerDep,
    offset: Annotated[int, Query(ge=0, le=defaults.MAX_LIST_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=0, le=100)] = 10,
) -> BatchNodesOut:
    total, rows = queries.list_instances(session, project_id, offset=offset, limit=limit)
    alive = _alive(runner, *rows)
    instances = [
        InstanceNodesOut(
            instance_id=row.id,
            node_count=len(row.nodes),
            nodes=[_node_info(row, n, alive[row.id]) for n in row.nodes],
        )
        for row in rows
    ]
    return BatchNodesOut(count=total, instances=instances)


@router.get(
    "/instance/{instance_id}/groups", operation_id="ListGroupReplicationInfo",
    response_model=GroupsOut,
)  # fmt: skip
def list_group_replication_info(instance: FreshInstanceDep, runner: RunnerDep) -> GroupsOut:
    groups = _groups(instance, _alive(runner, instance)[instance.id])
    return GroupsOut(group_count=len(groups), group_list=groups)


@router.get(
    "/instance/{instance_id}/groups/{group_id}/group-nodes-state",
    operation_id="ShowReplicationStates", response_model=list[ReplicationOut],
)  # fmt: skip
def show_replication_states(
    instance: FreshInstanceDep, runner: RunnerDep, group_id: Annotated[str, Path()]
) -> list[ReplicationOut]:
    for group in _groups(instance, _alive(runner, instance)[instance.id]):
        if group.group_id == group_id:
            return group.replication_list
    raise NotFound(f"group {group_id} not found", code=codes.NODE_NOT_FOUND)


@router.get(
    "/instances/{instance_id}/nodes", operation_id="ShowInstanceTopology",
    response_model=TopologyOut,
)  # fmt: skip
def show_instance_topology(instance: FreshInstanceDep, runner: RunnerDep) -> TopologyOut:
    alive = _alive(runner, instance)[instance.id]
    masters = {n.group_id: n for n in instance.nodes if n.role == "master"}
    servers: list[TopologyNodeOut] = []
    for node in instance.nodes:
        relation = masters.get(node.group_id) if node.role != "master" else None
        servers.append(
            topology_node(node, group_id_of(instance, node), alive.get(node.node_id), relation)
        )
    return TopologyOut(
        redis_server=servers, cluster_proxy=[], cluster_lvs=[], cluster_admin=[], master=[],
        vpcendpoint=[], elb=[],
    )  # fmt: skip
