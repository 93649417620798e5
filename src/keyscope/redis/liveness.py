"""The live state of deployments: which nodes answer INFO now, within one deadline for all.

Every node of every deployment asked about is read at once (at most ``parallel`` at a time),
and the whole check ends by ``timeout``: a node that has not answered by then counts as down,
however many nodes are silent. At most ``LIVE_CHECKS_AT_ONCE`` checks of a process have
threads of their own; one more (many requests at once) reads its nodes one after another in
the caller's thread, within the same deadline, so the threads of a process stay bounded.
A deployment runs when each of its shards has a node that answers as master (after a
failover that is the promoted replica, whatever the cache says).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from keyscope import defaults
from keyscope.domain.errors import KeyscopeError
from keyscope.domain.topology import Node
from keyscope.redis.auth import Auth
from keyscope.redis.connection import Endpoint, info
from keyscope.redis.info import NodeStats, parse_node_stats


@dataclass(frozen=True, slots=True)
class DeploymentState:
    """What a live check found for one deployment."""

    running: bool
    stats: Mapping[str, NodeStats | None]
    """INFO figures by ``node_id``; None for a node that did not answer in time."""
    down: tuple[str, ...]
    """``host:port`` of the nodes that did not answer, in the order given."""
    used_memory: int | None
    """Bytes, summed over one answering master per shard; None unless running."""
    max_memory: int | None
    """Bytes the masters may use: ``maxmemory``, or the machine's memory where it is 0
    (unlimited); None unless running and known for every master."""


Deployment = tuple[Sequence[Node], Auth]

LIVE_CHECKS_AT_ONCE = 4
"""Checks of one process that may each run ``parallel`` threads at the same moment."""

_pools = threading.BoundedSemaphore(LIVE_CHECKS_AT_ONCE)


def check_deployments(
    deployments: Mapping[str, Deployment],
    *,
    timeout: float = defaults.LIVE_CHECK_TIMEOUT_S,
    parallel: int = defaults.LIVE_CHECK_PARALLEL,
) -> dict[str, DeploymentState]:
    """The state of each deployment (keyed as given), every node read within ``timeout``."""
    jobs = [(key, node, auth) for key, (nodes, auth) in deployments.items() for node in nodes]
    deadline = time.monotonic() + timeout
    found: dict[tuple[str, str], NodeStats | None] = {}
    if len(jobs) > 1 and parallel > 1 and _pools.acquire(blocking=False):
        try:
            found = _read_together(jobs, deadline, min(len(jobs), parallel))
        finally:
            _pools.release()
    else:
        found = {(key, node.node_id): _read(node, auth, deadline) for key, node, auth in jobs}
    return {
        key: _state(nodes, {n.node_id: found.get((key, n.node_id)) for n in nodes})
        for key, (nodes, _auth) in deployments.items()
    }


def _read_together(
    jobs: list[tuple[str, Node, Auth]], deadline: float, workers: int
) -> dict[tuple[str, str], NodeStats | None]:
    found: dict[tuple[str, str], NodeStats | None] = {}
    pool = ThreadPoolExecutor(workers, thread_name_prefix="liveness")
    try:
        futures: dict[tuple[str, str], Future[NodeStats | None]] = {
            (key, node.node_id): pool.submit(_read, node, auth, deadline)
            for key, node, auth in jobs
        }
        wait(futures.values(), timeout=max(deadline - time.monotonic(), 0) + 0.1)
        for job, future in futures.items():
            found[job] = future.result() if future.done() and not future.cancelled() else None
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return found


def _read(node: Node, auth: Auth, deadline: float) -> NodeStats | None:
    left = deadline - time.monotonic()
    if left <= 0:
        return None
    try:
        return parse_node_stats(info(Endpoint(node.host, node.port, auth), "default", timeout=left))
    except KeyscopeError:
        return None


def _state(nodes: Sequence[Node], stats: dict[str, NodeStats | None]) -> DeploymentState:
    masters: dict[str, NodeStats] = {}
    groups = {n.group_id for n in nodes}
    for node in nodes:
        got = stats[node.node_id]
        if got is not None and got.role == "master":
            masters.setdefault(node.group_id, got)
    down = tuple(n.address for n in nodes if stats[n.node_id] is None)
    running = bool(groups) and groups <= set(masters)
    used = max_memory = None
    if running:
        used = sum(m.used_memory for m in masters.values())
        limits = [m.max_memory or m.total_system_memory for m in masters.values()]
        max_memory = sum(limits) if all(limits) else None
    return DeploymentState(running, stats, down, used, max_memory)
