"""Hot-key analysis of a live deployment: the keys the traffic hits, on every node that serves it.

Two measurements, each used where a node offers it:

- LFU counters (``maxmemory-policy`` allkeys-lfu or volatile-lfu): ``OBJECT FREQ`` of every key
  on every node of every shard, master and replicas (reads sent to a replica never reach its
  master's counters, and the other way round); a key is hot from the counter that
  ``min_accesses`` reach on average under the node's own ``lfu-log-factor``
  (``keyscope.analysis.lfu``), so untouched keys (counter 5) never are.
- ``HOTKEYS`` (Redis 8.6+): one bounded window of the server's own tracking
  (``keyscope.redis.hotkeys_tracking``), run before the counters are read so that keyscope's
  probes never count; a key is hot from ``min_share`` of its shard's network bytes (its CPU
  share is reported beside it; see ``keyscope.analysis.hot_ranking``).

A node with neither is refused (DCS.4922), as Redis before 4.0 is.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from keyscope.analysis import hot_ranking
from keyscope.analysis.lfu import DEFAULT_DECAY_TIME, DEFAULT_LOG_FACTOR, min_freq_for
from keyscope.analysis.selection import TYPE_ORDER, HotKeySelector, unit_of
from keyscope.domain import codes
from keyscope.domain.errors import Unsupported
from keyscope.domain.keys import HotKey, HotKeyReport, KeyType, LfuFloor
from keyscope.domain.names import name_text
from keyscope.domain.scan import Cancellation, Progress, ScanOptions
from keyscope.domain.topology import InstanceMode, Node, Topology
from keyscope.redis.auth import Auth
from keyscope.redis.connection import Endpoint, RawConnection, info, open_connection, pack
from keyscope.redis.hotkey_sources import NodeSources, node_sources
from keyscope.redis.hotkeys_tracking import TrackingWindow
from keyscope.redis.info import keyspace
from keyscope.redis.probes import FreqProbe, SizedKey, SizeProbe, run_probe
from keyscope.redis.scanner import DEFAULT_OPTIONS, Scanner
from keyscope.redis.targets import every_node, plan_nodes
from keyscope.redis.topology import version_tuple

Location = hot_ranking.Location


def _refuse(reason: str) -> Unsupported:
    return Unsupported(f"{codes.HOTKEY_UNSUPPORTED[1]} {reason}", code=codes.HOTKEY_UNSUPPORTED[0])


def _check_version(topology: Topology) -> None:
    if topology.engine == "redis" and version_tuple(topology.engine_version) < (4, 0):
        raise _refuse(
            f"Redis {topology.engine_version} has no LFU counters (Redis 4.0 or later is needed)."
        )


def _sources(topology: Topology, auth: Auth, options: ScanOptions) -> list[NodeSources]:
    """What every node to be read offers; DCS.4922 naming a node that offers nothing."""
    nodes = every_node(topology, use_replicas=options.use_replicas)
    found = [node_sources(n, auth, timeout=options.connect_timeout) for n in nodes]
    for s in found:
        if not s.lfu and not s.hotkeys:
            raise _refuse(
                f"maxmemory-policy on {s.node.address} is {s.policy or 'unknown'!r} and the "
                "server has no HOTKEYS command; hot-key analysis needs allkeys-lfu or "
                "volatile-lfu (or Redis 8.6+ with HOTKEYS)."
            )
    return found


def ensure_hotkeys_supported(
    topology: Topology, auth: Auth, options: ScanOptions = DEFAULT_OPTIONS
) -> None:
    """DCS.4922 on Redis before 4.0, or where a node has neither LFU counters nor HOTKEYS."""
    _check_version(topology)
    _sources(topology, auth, options)


def find_hotkeys(
    topology: Topology,
    auth: Auth,
    options: ScanOptions = DEFAULT_OPTIONS,
    *,
    progress: Progress | None = None,
    cancel: Cancellation | None = None,
) -> HotKeyReport:
    """The hot keys of every shard, hottest first, with type, size and what measured them."""
    _check_version(topology)
    sources = _sources(topology, auth, options)
    shard_of = _shard_labels(topology)
    tracked = [s.node for s in sources if s.hotkeys]
    window = TrackingWindow(
        tracked,
        auth,
        window_s=options.hotkeys_window_s,
        timeout=options.socket_timeout,
        cancel=cancel,
        progress=progress,
    )
    trackings = window.run() if tracked else []
    floors = [_floor(s, options.hotkey_min_accesses) for s in sources if s.lfu]
    counters = _read_counters(topology, floors, auth, options, progress=progress, cancel=cancel)
    shares = hot_ranking.shard_shares(trackings, shard_of)
    wanted: dict[str | None, dict[int | None, set[bytes]]] = defaultdict(lambda: defaultdict(set))
    located: set[tuple[str | None, bytes]] = set()
    for shard, db, name in hot_ranking.hottest(counters, options.hotkey_max_records):
        wanted[shard][db].add(name)
        located.add((shard, name))
    for (shard, name), share in shares.items():
        if share.reaches(options.hotkey_min_share) and (shard, name) not in located:
            wanted[shard][None].add(name)  # HOTKEYS does not say which database
    sizes = _sizes(topology, wanted, auth, options)
    _count_the_rest(topology, counters, sizes, auth, options, lfu_nodes={f.node for f in floors})
    keys = [
        (k, seen.net_bytes if (seen := shares.get((loc[0], loc[2]))) else 0)
        for loc, rec in sizes.items()
        if (k := _hot_key(loc, rec, counters, shares))
    ]
    return HotKeyReport(
        hot_ranking.ranked(keys, options.hotkey_max_records),
        min_accesses=options.hotkey_min_accesses if floors else None,
        lfu=tuple(floors),
        window_s=window.window_s if tracked else None,
        min_share=options.hotkey_min_share if tracked else None,
        tracked_nodes=tuple(n.address for n in tracked),
    )


def _floor(source: NodeSources, min_accesses: int) -> LfuFloor:
    factor = source.log_factor if source.log_factor is not None else DEFAULT_LOG_FACTOR
    decay = source.decay_time if source.decay_time is not None else DEFAULT_DECAY_TIME
    return LfuFloor(source.node.address, factor, decay, min_freq_for(min_accesses, factor),
                    source.log_factor is not None)  # fmt: skip


def _read_counters(
    topology: Topology,
    floors: Sequence[LfuFloor],
    auth: Auth,
    options: ScanOptions,
    *,
    progress: Progress | None,
    cancel: Cancellation | None,
) -> dict[Location, tuple[int, str]]:
    """OBJECT FREQ of every key on every LFU node; each node keeps its own top N above its floor."""
    if not floors:
        return {}
    by_address = {n.address: n for n in topology.nodes}
    nodes = [by_address[f.node] for f in floors]
    targets, total = plan_nodes(topology, nodes, auth, timeout=options.connect_timeout)
    selectors = {f.node: HotKeySelector(options.hotkey_max_records, f.min_freq) for f in floors}
    probe = FreqProbe(min(f.min_freq for f in floors))
    scanner = Scanner(
        targets, auth, probe, options, progress=progress, cancel=cancel, keys_total=total
    )
    for page in scanner:
        selectors[str(page[0][3])].add(page)  # a page comes from one node, labelled with it
        # the node threads skip what can enter no node's top any more (a stale value lets more in)
        probe.min_freq = min(s.floor for s in selectors.values())
    tops = [entry for s in selectors.values() for entry in s.top()]
    return hot_ranking.highest_counters(tops, _shard_labels(topology))


def _shard_labels(topology: Topology) -> dict[str, str | None]:
    cluster = topology.mode is InstanceMode.CLUSTER
    return {n.address: (s.master.address if cluster else None)
            for s in topology.shards for n in s.nodes}  # fmt: skip


def _connect(node: Node, auth: Auth, options: ScanOptions, *, readonly: bool) -> RawConnection:
    conn = open_connection(
        Endpoint(node.host, node.port, auth),
        connect_timeout=options.connect_timeout,
        socket_timeout=options.socket_timeout,
    )
    # Sizing reads (STRLEN, HLEN, ...) would count as accesses; NO-TOUCH (7.2+) keeps the
    # counters as the traffic left them, and an older server's refusal is no loss.
    conn.send(pack("CLIENT", "NO-TOUCH", "ON"))
    conn.read(1)
    if readonly:
        conn.command("READONLY")
    return conn


def _shard_nodes(topology: Topology, options: ScanOptions) -> dict[str | None, tuple[Node, bool]]:
    """Per shard label, the node that sizes its keys (a replica where one exists) and READONLY."""
    cluster = topology.mode is InstanceMode.CLUSTER
    out: dict[str | None, tuple[Node, bool]] = {}
    for shard in topology.shards:
        node = shard.read_node() if options.use_replicas else shard.master
        out[shard.master.address if cluster else None] = (node, cluster and node != shard.master)
    return out


def _sizes(
    topology: Topology,
    wanted: Mapping[str | None, Mapping[int | None, set[bytes]]],
    auth: Auth,
    options: ScanOptions,
) -> dict[Location, SizedKey]:
    """Type and size of the few keys kept, asked once every counter was read (sizing touches).

    Names without a database (from HOTKEYS) are looked for in every database of the node.
    """
    out: dict[Location, SizedKey] = {}
    cluster = topology.mode is InstanceMode.CLUSTER
    for shard, (node, readonly) in _shard_nodes(topology, options).items():
        by_db = wanted.get(shard)
        if not by_db:
            continue
        names_of: dict[int, set[bytes]] = defaultdict(set)
        anywhere = by_db.get(None, set())
        if anywhere:
            dbs = [0] if cluster else [d.db for d in keyspace(
                info(Endpoint(node.host, node.port, auth), "keyspace",
                     timeout=options.connect_timeout)) if d.keys > 0]  # fmt: skip
            for each in dbs:
                names_of[each] |= anywhere
        for known, names in by_db.items():
            if known is not None:
                names_of[known] |= names
        conn = _connect(node, auth, options, readonly=readonly)
        try:
            for db, names in names_of.items():
                conn.command("SELECT", db)
                for rec in run_probe(conn, SizeProbe().page(sorted(names), db, shard)):
                    out[(shard, db, rec[0])] = rec
        finally:
            conn.close()
    return out


def _count_the_rest(
    topology: Topology,
    counters: dict[Location, tuple[int, str]],
    sizes: Mapping[Location, SizedKey],
    auth: Auth,
    options: ScanOptions,
    *,
    lfu_nodes: set[str],
) -> None:
    """The counters of keys that HOTKEYS found hot below the LFU floor, on every LFU node."""
    missing: dict[str | None, dict[int, list[bytes]]] = defaultdict(lambda: defaultdict(list))
    for loc in sizes:
        if loc not in counters:
            missing[loc[0]][loc[1]].append(loc[2])
    if not missing or not lfu_nodes:
        return
    cluster = topology.mode is InstanceMode.CLUSTER
    for shard in topology.shards:
        label = shard.master.address if cluster else None
        for node in (n for n in shard.nodes if n.address in lfu_nodes):
            by_db = missing.get(label)
            if not by_db:
                continue
            conn = _connect(node, auth, options, readonly=cluster and node != shard.master)
            try:
                for db, names in by_db.items():
                    conn.command("SELECT", db)
                    for name, freq, _db, _ in run_probe(conn, FreqProbe().page(names, db, None)):
                        seen = counters.get((label, db, name))
                        if seen is None or freq > seen[0]:
                            counters[(label, db, name)] = (freq, node.address)
            finally:
                conn.close()


def _hot_key(
    loc: Location,
    rec: SizedKey,
    counters: Mapping[Location, tuple[int, str]],
    shares: Mapping[tuple[str | None, bytes], hot_ranking.Share],
) -> HotKey | None:
    shard, db, name = loc
    type_: KeyType = rec[1]  # type: ignore[assignment]  # SizeProbe names only these
    if type_ not in TYPE_ORDER:
        return None
    counted = counters.get(loc)
    share = shares.get((shard, name))
    text, b64 = name_text(name)
    return HotKey(
        text, type_, db, rec[2], unit_of(type_),
        counted[0] if counted else None, shard,
        counted[1] if counted else (share.node if share else None),
        share.cpu if share else None, share.net if share else None, b64,
    )  # fmt: skip
