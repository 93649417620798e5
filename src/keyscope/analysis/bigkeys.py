"""Big-key analysis of a live deployment: every shard scanned, DCS record rules applied."""

from __future__ import annotations

from keyscope.analysis.selection import BigKeySelector
from keyscope.domain import codes
from keyscope.domain.errors import Unsupported
from keyscope.domain.keys import BigKey
from keyscope.domain.scan import BigKeyThresholds, Cancellation, Progress, ScanOptions
from keyscope.domain.topology import Topology
from keyscope.redis.auth import Auth
from keyscope.redis.probes import SizeProbe
from keyscope.redis.scanner import DEFAULT_OPTIONS, Scanner
from keyscope.redis.targets import plan
from keyscope.redis.topology import version_tuple


def ensure_bigkeys_supported(topology: Topology) -> None:
    """DCS.4919 where the analysis cannot run: servers without SCAN (Redis before 2.8)."""
    if topology.engine == "redis" and version_tuple(topology.engine_version) < (2, 8):
        raise Unsupported(
            f"{codes.BIGKEY_UNSUPPORTED[1]} Redis {topology.engine_version} has no SCAN "
            "(2.8 or later is needed).",
            code=codes.BIGKEY_UNSUPPORTED[0],
        )


def has_memory_usage(topology: Topology) -> bool:
    """MEMORY USAGE exists from Redis 4.0 (every Valkey has it)."""
    return topology.engine != "redis" or version_tuple(topology.engine_version) >= (4, 0)


def skip_below_bytes(t: BigKeyThresholds) -> int | None:
    """Memory below which no key can be big, halved for MEMORY USAGE's sampling estimates.

    A big string takes at least its length; a collection over the element threshold at least
    2 bytes per element (the smallest listpack or intset entry); a collection over the byte
    threshold at least that.
    """
    bound = min(t.string_bytes, 2 * t.collection_elements, t.collection_bytes) // 2
    return bound if bound > 0 else None


def size_probe(topology: Topology, t: BigKeyThresholds) -> SizeProbe:
    """MEMORY USAGE as a first filter where the server has it; TYPE and size otherwise."""
    if not has_memory_usage(topology):
        return SizeProbe()
    return SizeProbe(
        memory_up_to_count=t.collection_elements,
        skip_below_bytes=skip_below_bytes(t),
        memory_of_strings_over=t.string_bytes,
    )


def find_bigkeys(
    topology: Topology,
    auth: Auth,
    options: ScanOptions = DEFAULT_OPTIONS,
    *,
    progress: Progress | None = None,
    cancel: Cancellation | None = None,
) -> list[BigKey]:
    """Scan every shard (its replica where one exists) and report the big keys, DCS rules."""
    ensure_bigkeys_supported(topology)
    thresholds = options.bigkeys
    targets, total = plan(
        topology,
        auth,
        read_only=True,
        use_replicas=options.use_replicas,
        timeout=options.connect_timeout,
    )
    probe = size_probe(topology, thresholds)
    selector = BigKeySelector(thresholds)
    scanner = Scanner(
        targets, auth, probe, options, progress=progress, cancel=cancel, keys_total=total
    )
    for page in scanner:
        selector.add(page)
    return selector.result()
