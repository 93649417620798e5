"""Which node each online analysis reads, and which databases on it."""

from __future__ import annotations

from collections.abc import Sequence

from keyscope import defaults
from keyscope.domain.topology import InstanceMode, Node, NodeRole, Topology
from keyscope.redis.auth import Auth
from keyscope.redis.connection import Endpoint, info
from keyscope.redis.info import keyspace
from keyscope.redis.scanner import ScanTarget


def scan_nodes(topology: Topology, *, read_only: bool, use_replicas: bool = True) -> list[Node]:
    """One node per shard: a replica for read-only work where one exists (DCS), else the master."""
    if read_only and use_replicas:
        return [s.read_node() for s in topology.shards]
    return [s.master for s in topology.shards]


def plan(
    topology: Topology,
    auth: Auth,
    *,
    read_only: bool,
    use_replicas: bool = True,
    timeout: float = defaults.CONNECT_TIMEOUT_S,
) -> tuple[list[ScanTarget], int]:
    """Scan targets for every shard and the number of keys they hold (for progress).

    A cluster is walked in db 0 on every shard and its records carry ``shard`` = the master's
    ``ip:port``; other deployments are walked in every database INFO keyspace lists.
    """
    cluster = topology.mode is InstanceMode.CLUSTER
    targets: list[ScanTarget] = []
    total = 0
    for shard, node in zip(
        topology.shards,
        scan_nodes(topology, read_only=read_only, use_replicas=use_replicas),
        strict=True,
    ):
        target, keys = _target(node, shard.master.address if cluster else None, cluster,
                               readonly=cluster and node is not shard.master, auth=auth,
                               timeout=timeout)  # fmt: skip
        targets.append(target)
        total += keys
    return targets, total


def every_node(topology: Topology, *, use_replicas: bool = True) -> list[Node]:
    """Every node that serves traffic: each shard's master and (unless told not) its replicas."""
    return [n for s in topology.shards for n in (s.nodes if use_replicas else (s.master,))]


def plan_nodes(
    topology: Topology,
    nodes: Sequence[Node],
    auth: Auth,
    *,
    timeout: float = defaults.CONNECT_TIMEOUT_S,
) -> tuple[list[ScanTarget], int]:
    """A target for each of ``nodes``, its records labelled with the node's own ``ip:port``
    (not the shard's), and the number of keys they hold."""
    cluster = topology.mode is InstanceMode.CLUSTER
    targets: list[ScanTarget] = []
    total = 0
    for node in nodes:
        readonly = cluster and node.role is NodeRole.SLAVE
        target, keys = _target(node, node.address, cluster, readonly=readonly, auth=auth,
                               timeout=timeout)  # fmt: skip
        targets.append(target)
        total += keys
    return targets, total


def _target(
    node: Node, label: str | None, cluster: bool, *, readonly: bool, auth: Auth, timeout: float
) -> tuple[ScanTarget, int]:
    dbs = keyspace(info(Endpoint(node.host, node.port, auth), "keyspace", timeout=timeout))
    if cluster:
        dbs = [d for d in dbs if d.db == 0]
    target = ScanTarget(node, tuple(d.db for d in dbs if d.keys > 0), label, readonly=readonly)
    return target, sum(d.keys for d in dbs)


def addresses(nodes: Sequence[Node]) -> str:
    return ", ".join(n.address for n in nodes)
