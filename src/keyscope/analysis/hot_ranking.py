"""Pure rules that turn what every node measured into one ranked list of hot keys.

- LFU counters: each node's hottest keys (its own top N, already at or above its floor) are
  merged; a key's ``freq`` is the highest counter any node of its shard holds, and ``node`` is
  where. Merging per-node top Ns is exact: a key missing from a node's top N has N keys at
  least as hot there, so it could not enter the merged top N through that node.
- ``HOTKEYS``: a key's shares are its network bytes (CPU time) summed over its shard's nodes,
  divided by what those nodes spent on all commands with keys in the window. A key is hot
  when its network share reaches ``min_share``: bytes are counted exactly, while the CPU time
  of a command is the wall time the server measured around it, so one command that was
  descheduled mid-way can take a large share of a quiet window. The CPU share is reported
  beside it (a key whose CPU share far exceeds its network share runs costly commands).
- Order: keys with a counter first, hottest first; then by network bytes (not by share: in a
  cluster a share is of one shard's traffic, and a quiet shard's keys would rank first), CPU
  share, name.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from keyscope.domain.keys import HotKey
from keyscope.redis.hotkeys_tracking import NodeTracking

Location = tuple[str | None, int, bytes]
"""(shard label, db, name) of a key."""

Counted = tuple[int, bytes, int, str | None]
"""(freq, name, db, node label) as a node's HotKeySelector keeps it."""


@dataclass(frozen=True, slots=True)
class Share:
    """A key's part of its shard's tracked work, and the node that served it most (by bytes)."""

    cpu: float | None
    net: float | None
    node: str
    net_bytes: int = 0
    """The key's bytes over its shard's nodes in the window."""

    def reaches(self, least: float) -> bool:
        return (self.net or 0.0) >= least


def highest_counters(
    tops: Iterable[Counted], shard_of: Mapping[str, str | None]
) -> dict[Location, tuple[int, str]]:
    """Each key's highest counter over the nodes of its shard, and the node holding it."""
    best: dict[Location, tuple[int, str]] = {}
    for freq, name, db, node in tops:
        if node is None:  # pragma: no cover - every node's records carry its address
            continue
        loc = (shard_of[node], db, name)
        seen = best.get(loc)
        if seen is None or freq > seen[0]:
            best[loc] = (freq, node)
    return best


def hottest(counters: Mapping[Location, tuple[int, str]], limit: int) -> list[Location]:
    """The ``limit`` locations with the highest counters (ties: the greater name first)."""
    ranked = sorted(counters, key=lambda loc: (-counters[loc][0], loc[2], loc[1]))
    return ranked[: max(0, limit)]


def shard_shares(
    trackings: Iterable[NodeTracking], shard_of: Mapping[str, str | None]
) -> dict[tuple[str | None, bytes], Share]:
    """Every tracked key's CPU and network share of its shard's window."""
    by_shard: dict[str | None, list[NodeTracking]] = defaultdict(list)
    for t in trackings:
        by_shard[shard_of[t.node.address]].append(t)
    out: dict[tuple[str | None, bytes], Share] = {}
    for shard, nodes in by_shard.items():
        cpu_total = sum(t.cpu_total_us for t in nodes)
        net_total = sum(t.net_total_bytes for t in nodes)
        names = {name for t in nodes for name in (*t.cpu_us, *t.net_bytes)}
        for name in names:
            cpu = sum(t.cpu_us.get(name, 0) for t in nodes)
            net = sum(t.net_bytes.get(name, 0) for t in nodes)
            busiest = max(nodes, key=lambda t: (t.net_bytes.get(name, 0), t.cpu_us.get(name, 0)))
            out[(shard, name)] = Share(
                round(cpu / cpu_total, 4) if cpu_total else None,
                round(net / net_total, 4) if net_total else None,
                busiest.node.address,
                net,
            )
    return out


def ranked(keys: Iterable[tuple[HotKey, int]], limit: int) -> list[HotKey]:
    """Hottest first (see the module docstring), at most ``limit``; each key with its bytes."""

    def heat(entry: tuple[HotKey, int]) -> tuple[bool, int, int, float, str, int]:
        k, traffic = entry
        return (k.freq is None, -(k.freq or 0), -traffic, -(k.cpu_share or 0.0), k.name, k.db)

    return [k for k, _ in sorted(keys, key=heat)[: max(0, limit)]]
