"""Every analysis keyscope runs against a live deployment, by the name README's ACL table uses.

``run_analysis`` does what the service's task does for that analysis (discovery first, the
slot-layout reads of a cluster scan, the scan itself; a backup's snapshot), so a test can
run them all as one user, over TLS or not. ``write_keyspace`` writes keys that make each of
them send every command it can send: big and small keys of every type, and (with ``big``)
one key of every type read often enough to be hot, so that the hot-key analysis sizes each
type; ``fill_cluster`` writes them on every shard of a cluster.
"""

from __future__ import annotations

import time
from pathlib import Path

import redis

from keyscope.analysis.bigkeys import find_bigkeys
from keyscope.analysis.expire import scan_expired
from keyscope.analysis.hotkeys import find_hotkeys
from keyscope.domain.scan import ScanOptions
from keyscope.domain.topology import InstanceMode
from keyscope.redis.auth import Auth
from keyscope.redis.replication import save_snapshot
from keyscope.redis.slots import slot_layout
from keyscope.redis.topology import discover
from tests.utils.servers import Cluster

ANALYSES = (
    "discovery",
    "big keys",
    "hot keys",
    "expired-key scan",
    "backups over replication",
)

FAST = ScanOptions(max_ops_per_sec=None, scan_count=200)


def write_keyspace(c: redis.Redis, *, big: bool = True, prefix: str = "") -> None:
    """Keys of every type, big (over the DCS thresholds) and small, some with a TTL."""
    n = 5001 if big else 3
    pipe = c.pipeline(transaction=False)
    pipe.set(f"{prefix}str:big", "x" * (20_000 if big else 10))
    pipe.set(f"{prefix}str:small", "x", px=3_600_000)
    pipe.rpush(f"{prefix}list:big", *range(n))
    pipe.sadd(f"{prefix}set:big", *range(n))
    pipe.zadd(f"{prefix}zset:big", {f"m{i}": i for i in range(n)})
    pipe.hset(f"{prefix}hash:big", mapping={f"f{i}": i for i in range(n)})
    for i in range(n):
        pipe.xadd(f"{prefix}stream:big", {"i": i})
    pipe.rpush(f"{prefix}list:small", 1, 2)
    pipe.sadd(f"{prefix}set:small", 1, 2)
    pipe.zadd(f"{prefix}zset:small", {"a": 1})
    pipe.hset(f"{prefix}hash:small", mapping={"f": "v"})
    pipe.execute()
    if big:
        _read_hot(c, prefix)


HOT_READS = 3000
"""Reads that put an LFU counter near 30 (20 at the least), far above the hot-key floor (10)
even after the minutes a test module runs (a counter loses one per idle minute)."""


def _read_hot(c: redis.Redis, prefix: str) -> None:
    pipe = c.pipeline(transaction=False)
    for _ in range(HOT_READS):
        pipe.get(f"{prefix}str:small")
        pipe.lindex(f"{prefix}list:small", 0)
        pipe.sismember(f"{prefix}set:small", 1)
        pipe.zscore(f"{prefix}zset:small", "a")
        pipe.hget(f"{prefix}hash:small", "f")
        pipe.xlen(f"{prefix}stream:big")
    pipe.execute()


def run_analysis(
    name: str, mode: InstanceMode, addresses: list[str], auth: Auth, workdir: Path
) -> object:
    """Run analysis ``name`` the way the service's task runs it; its result."""
    topology = discover(mode, addresses, auth)
    if name == "discovery":
        return topology
    if name == "big keys":
        slot_layout(topology, auth)
        return find_bigkeys(topology, auth, FAST)
    if name == "hot keys":
        slot_layout(topology, auth)
        return find_hotkeys(topology, auth, FAST)
    if name == "expired-key scan":
        return scan_expired(topology, auth, FAST)
    if name == "backups over replication":
        node = topology.shards[0].master
        workdir.mkdir(parents=True, exist_ok=True)
        return save_snapshot(node.host, node.port, workdir / "backup.rdb", auth=auth)
    raise ValueError(f"no analysis named {name!r}")


def fill_cluster(cluster: Cluster) -> None:
    """An LFU policy on every node, keys on each of three shards (big ones on one), and the
    replicas caught up."""
    for node in cluster.servers:
        with node.client() as c:
            c.config_set("maxmemory-policy", "allkeys-lfu")
            c.config_set("repl-diskless-sync-delay", "0")  # snapshots start at once
    client = cluster.client()
    for tag in ("{a}", "{b}", "{c}"):  # a slot on each of the three shards
        write_keyspace(client, big=tag == "{a}", prefix=tag)  # type: ignore[arg-type]
    client.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        states = [s.client().info("replication") for s in cluster.servers]
        offsets = {o["master_repl_offset"] for o in states if o["role"] == "master"}
        if all(o.get("slave_repl_offset") in offsets for o in states if o["role"] == "slave"):
            return
        time.sleep(0.05)
    raise RuntimeError("the cluster's replicas did not catch up")
