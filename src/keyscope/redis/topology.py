"""Discover a deployment from the addresses a user registers: shards, masters, replicas, engine.

Discovery is bound by one overall timeout: the registered addresses are tried all at once
(the first to answer as Redis is the seed), and so are the other nodes' checks, so many
silent addresses cost one timeout, not one each.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any, TypeVar

from keyscope import defaults
from keyscope.domain.errors import InvalidInput, NodeAuthFailed, NodeError
from keyscope.domain.topology import InstanceMode, Node, NodeRole, Shard, Topology
from keyscope.redis.auth import Auth
from keyscope.redis.connection import Endpoint, call, info, parse_address
from keyscope.redis.transport import not_redis

T = TypeVar("T")

MAX_PARALLEL = 64
"""Connections discovery opens at once (a registration names at most 64 addresses)."""


def node_id(host: str, port: int) -> str:
    """Stable id of a node of an instance (DCS node_id): md5 of ``host:port``."""
    return hashlib.md5(f"{host}:{port}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ServerInfo:
    """What INFO tells about one node that discovery needs."""

    engine: str
    version: str
    role: str
    cluster_enabled: bool
    master: tuple[str, int] | None
    replicas: tuple[tuple[str, int], ...]


def server_info(endpoint: Endpoint, *, timeout: float = defaults.CONNECT_TIMEOUT_S) -> ServerInfo:
    """INFO server/replication/cluster of one node, parsed."""
    values = info(endpoint, "all", timeout=timeout)
    try:
        return parse_server_info(values)
    except (KeyError, ValueError):
        raise NodeError("INFO does not describe a Redis server", node=endpoint.address) from None


def parse_server_info(info: dict[str, Any]) -> ServerInfo:
    if "redis_version" not in info:
        raise ValueError("INFO names no redis_version")
    if "valkey_version" in info or info.get("server_name") == "valkey":
        engine, version = "valkey", str(info.get("valkey_version") or info["redis_version"])
    else:
        engine, version = "redis", str(info["redis_version"])
    role = str(info.get("role", "master"))
    master = None
    if role == "slave":
        master = (str(info["master_host"]), int(info["master_port"]))
    replicas = []
    for i in range(int(info.get("connected_slaves", 0))):
        entry = info.get(f"slave{i}")
        if isinstance(entry, dict) and entry.get("state", "online") == "online":
            replicas.append((str(entry["ip"]), int(entry["port"])))
    return ServerInfo(
        engine, version, role, bool(int(info.get("cluster_enabled", 0))), master, tuple(replicas)
    )


def version_tuple(version: str) -> tuple[int, ...]:
    """``"7.0.15"`` → ``(7, 0, 15)``; unparsable parts count as 0."""
    out = []
    for part in version.split(".")[:3]:
        digits = "".join(ch for ch in part if ch.isdigit())
        out.append(int(digits) if digits else 0)
    return tuple(out)


def _node(host: str, port: int, role: NodeRole, group_id: str, group_name: str) -> Node:
    return Node(node_id(host, port), host, port, role, group_id, group_name)


def discover(
    mode: InstanceMode,
    addresses: Sequence[str],
    auth: Auth,
    *,
    timeout: float = defaults.CONNECT_TIMEOUT_S,
) -> Topology:
    """Connect, check the address answers, and lay out the deployment ``mode`` says it is.

    Ends within about ``timeout`` however many addresses are silent. Raises InvalidInput
    (bad address, no address, mode mismatch), NodeUnreachable, NodeAuthFailed.
    """
    if not addresses:
        raise InvalidInput("at least one host:port address is needed", code="DCS.4002")
    seeds = [Endpoint(*parse_address(a), auth) for a in addresses]
    deadline = time.monotonic() + timeout
    seed, seed_info = _first_answering(seeds, deadline)
    if mode is InstanceMode.CLUSTER:
        if not seed_info.cluster_enabled:
            raise InvalidInput(f"{seed.address} is not a Redis Cluster node", code="DCS.4002")
        shards = _cluster_shards(seed, _left(deadline))
    else:
        if seed_info.cluster_enabled:
            raise InvalidInput(
                f"{seed.address} is a Redis Cluster node; register the instance as 'cluster'",
                code="DCS.4002",
            )
        shards = (_replicated_shard(seed, seed_info, mode, auth, _left(deadline)),)
    topology = Topology(mode, seed_info.engine, seed_info.version, shards)
    others = [
        Endpoint(n.host, n.port, auth)
        for n in topology.nodes
        if (n.host, n.port) != (seed.host, seed.port)
    ]
    _all_answering(others, deadline)
    return topology


def _left(deadline: float) -> float:
    return max(deadline - time.monotonic(), 0.001)


def _first_answering(seeds: Sequence[Endpoint], deadline: float) -> tuple[Endpoint, ServerInfo]:
    """The first registered address to answer (a failed-over master may be gone); else the
    error of the first address in the list."""
    first = _answers(seeds, server_info, deadline, until_first=True)
    assert first is not None  # every seed either answered or failed
    return first


def _all_answering(endpoints: Sequence[Endpoint], deadline: float) -> None:
    """Every node answers PING (and takes the login); else the first one's error."""
    _answers(endpoints, _ping, deadline, until_first=False)


def _answers(
    endpoints: Sequence[Endpoint],
    work: Callable[..., T],
    deadline: float,
    *,
    until_first: bool,
) -> tuple[Endpoint, T] | None:
    """``work`` on every endpoint at once; the first success when ``until_first``, else
    None once all succeeded. Failures raise the error of the earliest endpoint; a wrong
    password is wrong on every address, so it is raised as soon as it comes."""
    errors: dict[int, NodeError] = {}
    with contextlib.closing(_outcomes(endpoints, work, deadline)) as outcomes:
        for i, outcome in outcomes:
            if isinstance(outcome, NodeAuthFailed):
                raise outcome
            if isinstance(outcome, NodeError):
                errors[i] = outcome
            elif until_first:
                return endpoints[i], outcome
    if errors:
        raise errors[min(errors)]
    return None


def _ping(endpoint: Endpoint, *, timeout: float) -> object:
    return call(endpoint, "PING", timeout=timeout)


def _outcomes(
    endpoints: Sequence[Endpoint], work: Callable[..., T], deadline: float
) -> Generator[tuple[int, T | NodeError]]:
    """``work(endpoint, timeout=...)`` on every endpoint at once: (index, result or
    NodeError) as each ends.

    Whatever has not ended by ``deadline`` ends as "no Redis answered"; its thread finishes
    on its own (each connection has the same deadline) while the caller goes on.
    """
    if len(endpoints) == 1:  # the common case needs no thread
        try:
            yield 0, work(endpoints[0], timeout=_left(deadline))
        except NodeError as exc:
            yield 0, exc
        return
    if not endpoints:
        return
    pool = ThreadPoolExecutor(min(len(endpoints), MAX_PARALLEL), thread_name_prefix="discover")
    futures = {pool.submit(work, ep, timeout=_left(deadline)): i for i, ep in enumerate(endpoints)}
    try:
        for future in as_completed(futures, timeout=_left(deadline) + 1.0):
            try:
                yield futures[future], future.result()
            except NodeError as exc:
                yield futures[future], exc
    except TimeoutError:
        for future, i in futures.items():
            if not future.done():
                yield i, not_redis(endpoints[i].address, "discovery timed out")
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _replicated_shard(
    seed: Endpoint, info: ServerInfo, mode: InstanceMode, auth: Auth, timeout: float
) -> Shard:
    group = ("group-0", hashlib.md5(b"group-0").hexdigest())
    if mode is InstanceMode.SINGLE:
        master = _node(seed.host, seed.port, NodeRole.MASTER, group[1], group[0])
        return Shard(group[1], group[0], master)
    master_ep, master_info = seed, info
    if info.role == "slave" and info.master is not None:
        master_ep = Endpoint(*info.master, auth)
        master_info = server_info(master_ep, timeout=timeout)
    master = _node(master_ep.host, master_ep.port, NodeRole.MASTER, group[1], group[0])
    replicas = tuple(
        _node(h, p, NodeRole.SLAVE, group[1], group[0]) for h, p in master_info.replicas
    )
    return Shard(group[1], group[0], master, replicas)


@dataclass(slots=True)
class _ClusterNode:
    cluster_id: str
    host: str
    port: int
    master_id: str | None
    first_slot: int | None


def parse_cluster_nodes(text: str, seed_host: str) -> list[_ClusterNode]:
    """CLUSTER NODES → live masters and replicas (failed, handshaking, address-less skipped)."""
    nodes = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 8:
            continue
        flags = set(fields[2].split(","))
        if flags & {"fail", "handshake", "noaddr"}:
            continue
        addr = fields[1].split("@")[0].split(",")[0]
        host, _, port = addr.rpartition(":")
        host = host or seed_host
        master_id = None if fields[3] == "-" else fields[3]
        first_slot = None
        for slot in fields[8:]:
            if slot.startswith("["):
                continue
            start = int(slot.split("-")[0])
            first_slot = start if first_slot is None else min(first_slot, start)
        nodes.append(_ClusterNode(fields[0], host, int(port), master_id, first_slot))
    return nodes


def _cluster_shards(seed: Endpoint, timeout: float) -> tuple[Shard, ...]:
    raw: bytes = call(seed, "CLUSTER", "NODES", timeout=timeout)
    nodes = parse_cluster_nodes(raw.decode("utf-8", "replace"), seed.host)
    masters = [n for n in nodes if n.master_id is None and n.first_slot is not None]
    masters.sort(key=lambda n: n.first_slot if n.first_slot is not None else 1 << 15)
    shards = []
    for i, m in enumerate(masters):
        name, gid = f"group-{i}", hashlib.md5(m.cluster_id.encode()).hexdigest()
        replicas = tuple(
            _node(r.host, r.port, NodeRole.SLAVE, gid, name)
            for r in nodes
            if r.master_id == m.cluster_id
        )
        master = _node(m.host, m.port, NodeRole.MASTER, gid, name)
        shards.append(Shard(gid, name, master, replicas))
    if not shards:
        raise InvalidInput(f"{seed.address}: the cluster has no master serving slots")
    return tuple(shards)
