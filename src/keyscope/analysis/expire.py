"""Expired-key scan: SCAN every database of every master so the server drops expired keys.

SCAN on a master deletes the keys it meets whose TTL has passed (lazy expiry). How many it
reclaimed is read from the server's own ``expired_keys`` counter before and after, per node
(it also counts what the server expired on its own meanwhile).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from keyscope.domain import codes
from keyscope.domain.errors import Unsupported
from keyscope.domain.keys import ExpireNodeResult, ExpireScanResult
from keyscope.domain.scan import Cancellation, Progress, ScanOptions
from keyscope.domain.topology import Node, Topology
from keyscope.redis.auth import Auth
from keyscope.redis.connection import Endpoint, info
from keyscope.redis.info import parse_node_stats
from keyscope.redis.probes import CountProbe
from keyscope.redis.scanner import DEFAULT_OPTIONS, Scanner
from keyscope.redis.targets import plan
from keyscope.redis.topology import version_tuple


def ensure_expire_scan_supported(topology: Topology) -> None:
    """DCS.4818 on Redis before 4.0 (DCS refuses Redis 3.0)."""
    if topology.engine == "redis" and version_tuple(topology.engine_version) < (4, 0):
        raise Unsupported(
            f"{codes.EXPIRE_SCAN_UNSUPPORTED[1]} Redis {topology.engine_version} is not "
            "supported (Redis 4.0 or later is needed).",
            code=codes.EXPIRE_SCAN_UNSUPPORTED[0],
        )


def _expired_counts(nodes: Sequence[Node], auth: Auth, timeout: float) -> dict[str, int]:
    return {
        n.address: parse_node_stats(
            info(Endpoint(n.host, n.port, auth), "stats", timeout=timeout)
        ).expired_keys
        for n in nodes
    }


def scan_expired(
    topology: Topology,
    auth: Auth,
    options: ScanOptions = DEFAULT_OPTIONS,
    *,
    timeout_s: float | None = None,
    progress: Progress | None = None,
    cancel: Cancellation | None = None,
) -> ExpireScanResult:
    """Walk every master with SCAN COUNT ``options.scan_count``; stop after ``timeout_s``.

    A run cut short by ``timeout_s`` still reports what it reclaimed and scanned so far.
    """
    ensure_expire_scan_supported(topology)
    targets, total = plan(topology, auth, read_only=False, timeout=options.connect_timeout)
    masters = [t.node for t in targets]
    before = _expired_counts(masters, auth, options.connect_timeout)
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    scanner = Scanner(
        targets,
        auth,
        CountProbe(),
        options,
        progress=progress,
        cancel=cancel,
        keys_total=total,
        deadline=None if deadline is None else (lambda: time.monotonic() >= deadline),
    )
    for _ in scanner:
        pass
    after = _expired_counts(masters, auth, options.connect_timeout)
    stats = scanner.stats
    nodes = tuple(
        ExpireNodeResult(
            node=a,
            expired_keys=max(0, after[a] - before[a]),
            scanned_keys=stats.keys.get(a, 0),
            seconds=round(stats.seconds.get(a, 0.0), 3),
        )
        for a in before
    )
    return ExpireScanResult(
        expired_keys=sum(n.expired_keys for n in nodes),
        scanned_keys=stats.total_keys,
        nodes=nodes,
    )
