"""Hot-key analysis of a live deployment: the LFU counter of every key, the hottest kept."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from keyscope.analysis.selection import HotKeySelector, SizedRecord, hot_keys
from keyscope.domain import codes
from keyscope.domain.errors import Unsupported
from keyscope.domain.keys import HotKey
from keyscope.domain.scan import Cancellation, Progress, ScanOptions
from keyscope.domain.topology import Node, Topology
from keyscope.redis.auth import Auth
from keyscope.redis.connection import Endpoint, info, open_connection
from keyscope.redis.probes import FreqProbe, SizeProbe, run_probe
from keyscope.redis.scanner import DEFAULT_OPTIONS, Scanner, ScanTarget
from keyscope.redis.targets import plan, scan_nodes
from keyscope.redis.topology import version_tuple

LFU_POLICIES = ("allkeys-lfu", "volatile-lfu")


def _refuse(reason: str) -> Unsupported:
    return Unsupported(f"{codes.HOTKEY_UNSUPPORTED[1]} {reason}", code=codes.HOTKEY_UNSUPPORTED[0])


def _check_version(topology: Topology) -> None:
    if topology.engine == "redis" and version_tuple(topology.engine_version) < (4, 0):
        raise _refuse(
            f"Redis {topology.engine_version} has no LFU counters (Redis 4.0 or later is needed)."
        )


def _check_policies(nodes: Sequence[Node], auth: Auth, timeout: float) -> None:
    for node in nodes:
        values = info(Endpoint(node.host, node.port, auth), "memory", timeout=timeout)
        policy = str(values.get("maxmemory_policy", ""))
        if policy not in LFU_POLICIES:
            raise _refuse(
                f"maxmemory-policy on {node.address} is {policy or 'unknown'!r}; "
                "hot-key analysis needs allkeys-lfu or volatile-lfu."
            )


def ensure_hotkeys_supported(topology: Topology, auth: Auth) -> None:
    """DCS.4922 on Redis before 4.0, or where a node to be read has no LFU eviction policy."""
    _check_version(topology)
    _check_policies(scan_nodes(topology, read_only=True), auth, DEFAULT_OPTIONS.connect_timeout)


def find_hotkeys(
    topology: Topology,
    auth: Auth,
    options: ScanOptions = DEFAULT_OPTIONS,
    *,
    progress: Progress | None = None,
    cancel: Cancellation | None = None,
) -> list[HotKey]:
    """Read OBJECT FREQ of every key of every shard; report the hottest with type and size."""
    _check_version(topology)
    nodes = scan_nodes(topology, read_only=True, use_replicas=options.use_replicas)
    _check_policies(nodes, auth, options.connect_timeout)
    targets, total = plan(
        topology,
        auth,
        read_only=True,
        use_replicas=options.use_replicas,
        timeout=options.connect_timeout,
    )
    selector = HotKeySelector(options.hotkey_max_records, options.hotkey_min_freq)
    probe = FreqProbe(options.hotkey_min_freq)
    scanner = Scanner(
        targets, auth, probe, options, progress=progress, cancel=cancel, keys_total=total
    )
    for page in scanner:
        selector.add(page)
        probe.min_freq = selector.floor  # the node threads skip what cannot enter any more
    top = selector.top()
    return hot_keys(top, _sizes(targets, top, auth, options))


def _sizes(
    targets: Sequence[ScanTarget],
    top: Sequence[tuple[int, bytes, int, str | None]],
    auth: Auth,
    options: ScanOptions,
) -> dict[tuple[str | None, int, bytes], SizedRecord]:
    """Type and size of the few keys kept, asked after every counter was read (sizing touches)."""
    wanted: dict[str | None, dict[int, list[bytes]]] = defaultdict(lambda: defaultdict(list))
    for _, name, db, shard in top:
        wanted[shard][db].append(name)
    out: dict[tuple[str | None, int, bytes], SizedRecord] = {}
    for target in targets:
        by_db = wanted.get(target.shard)
        if not by_db:
            continue
        node = target.node
        conn = open_connection(
            Endpoint(node.host, node.port, auth),
            connect_timeout=options.connect_timeout,
            socket_timeout=options.socket_timeout,
        )
        try:
            if target.readonly:
                conn.command("READONLY")
            for db, names in by_db.items():
                conn.command("SELECT", db)
                for rec in run_probe(conn, SizeProbe().page(names, db, target.shard)):
                    out[(target.shard, db, rec[0])] = rec
        finally:
            conn.close()
    return out
