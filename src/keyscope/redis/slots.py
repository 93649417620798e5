"""Whether a cluster's slots stayed put while a scan walked it.

SCAN walks each master's own keyspace; a resharding that moves keys between masters during
the walk can make a scan miss keys or see them twice. The scan itself carries on; its result
is flagged incomplete when the slot layout read before and after differs, or a slot was
migrating at either moment.
"""

from __future__ import annotations

from keyscope import defaults
from keyscope.domain.errors import KeyscopeError, NodePermissionDenied
from keyscope.domain.topology import InstanceMode, Topology
from keyscope.redis.auth import Auth
from keyscope.redis.connection import Endpoint, call

SlotLayout = frozenset[tuple[str, str]]
"""(node address, slot field) for every slot range and migration each master reports."""


def slot_layout(
    topology: Topology, auth: Auth, *, timeout: float = defaults.CONNECT_TIMEOUT_S
) -> SlotLayout | None:
    """The slot layout of a cluster as its masters report it; None for other deployments."""
    if topology.mode is not InstanceMode.CLUSTER:
        return None
    found: set[tuple[str, str]] = set()
    for shard in topology.shards:
        node = shard.master
        try:
            raw = call(Endpoint(node.host, node.port, auth), "CLUSTER", "NODES",
                       timeout=timeout)  # fmt: skip
        except NodePermissionDenied:
            raise  # a rule the user lacks, not a moving cluster
        except KeyscopeError:
            found.add((node.address, "unreachable"))
            continue
        for line in bytes(raw).decode("utf-8", "replace").splitlines():
            fields = line.split()
            if len(fields) > 8:
                address = fields[1].split("@")[0]
                found.update((address, slot) for slot in fields[8:])
    return frozenset(found)


def moved_during(before: SlotLayout | None, after: SlotLayout | None) -> bool:
    """True if slots moved between the two readings or were being moved at either."""
    if before is None or after is None:
        return False
    migrating = any(slot.startswith("[") for _node, slot in before | after)
    return before != after or migrating
