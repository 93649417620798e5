"""The shape of a registered Redis deployment: shards, nodes and their roles."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class InstanceMode(StrEnum):
    """How the deployment is laid out."""

    SINGLE = "single"
    HA = "ha"
    CLUSTER = "cluster"


class NodeRole(StrEnum):
    MASTER = "master"
    SLAVE = "slave"


@dataclass(frozen=True, slots=True)
class Node:
    """One redis-server process. ``node_id`` is stable for the same host:port of an instance."""

    node_id: str
    host: str
    port: int
    role: NodeRole
    group_id: str
    group_name: str

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class Shard:
    """A master and its replicas (one shard in a cluster, the whole data set otherwise)."""

    group_id: str
    group_name: str
    master: Node
    replicas: tuple[Node, ...] = ()

    @property
    def nodes(self) -> tuple[Node, ...]:
        return (self.master, *self.replicas)

    def read_node(self) -> Node:
        """The node a read-only analysis uses: a replica where one exists, as DCS does."""
        return self.replicas[0] if self.replicas else self.master


@dataclass(frozen=True, slots=True)
class Topology:
    """A discovered deployment."""

    mode: InstanceMode
    engine: str
    engine_version: str
    shards: tuple[Shard, ...] = field(default_factory=tuple)

    @property
    def nodes(self) -> tuple[Node, ...]:
        return tuple(n for s in self.shards for n in s.nodes)
