"""Writing a backup's keys into a deployment with ``RESTORE``, each to the shard owning it.

The payloads come from ``keyscope.rdb.payloads``; this module knows where each key goes (a
cluster's slot map, ``SELECT`` elsewhere), which format versions a server accepts, and how
fast it may write (the scans' per-node ceiling). An existing key stops the restore unless
``force`` is set, which overwrites (``RESTORE ... REPLACE``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import hiredis

from keyscope import defaults
from keyscope.analysis.slots import SLOTS, key_slot
from keyscope.domain.errors import Conflict, InvalidInput, NodeError, TaskCancelled, Unsupported
from keyscope.domain.scan import Cancellation
from keyscope.domain.topology import InstanceMode, Node, Topology
from keyscope.rdb.payloads import Payload
from keyscope.redis.auth import Auth
from keyscope.redis.connection import Endpoint, RawConnection, call, open_connection, pack
from keyscope.redis.throttle import Throttle

BATCH = 64
"""Commands per round trip (fewer when the throttle's budget is smaller)."""
RESTORE_REFUSED = "DCS.4975"
"""The target cannot take this backup: a newer format, or databases a cluster lacks."""
KEY_EXISTS = "DCS.4976"
"""A key of the backup exists in the target and ``force`` was not given."""


_REDIS_RDB_VERSIONS = ((7, 0, 10), (7, 2, 11), (7, 4, 12), (8, 4, 13), (255, 0, 14))
"""(major, minor, the RDB version a Redis from that release on loads); 255.255.255 is a build
of ``unstable``, whose RDB 14 the engine matrix's unstable server writes. A release this table
does not know yet is held to the last one it knows, and the server's own check stays."""


def accepted_rdb_version(engine: str, version: str) -> int:
    """The newest RDB version a server of ``engine`` ``version`` loads (RESTORE too)."""
    parts = tuple(int(p) if p.isdigit() else 0 for p in [*version.split("."), "0", "0"][:2])
    if engine.lower().startswith("valkey"):  # 8.x and the unstable builds of 2025 load v11
        return 80 if (9, 0) <= parts < (255, 0) else 11
    accepted = 9
    for major, minor, rdb in _REDIS_RDB_VERSIONS:
        if parts >= (major, minor):
            accepted = rdb
    return accepted


def check_format(topology: Topology, *, valkey_magic: bool, rdb_version: int) -> None:
    """Refuse up front a backup whose format the target cannot load."""
    accepted = accepted_rdb_version(topology.engine, topology.engine_version)
    if rdb_version > accepted:
        magic = "VALKEY" if valkey_magic else "REDIS"
        raise Unsupported(
            f"the backup is in RDB format {magic} {rdb_version}, newer than "
            f"{topology.engine} {topology.engine_version} loads (up to {accepted})",
            code=RESTORE_REFUSED,
        )


def slot_owners(topology: Topology, auth: Auth) -> list[Node]:
    """For each of the 16384 slots, the master that owns it (from ``CLUSTER SLOTS``)."""
    masters = {s.master.address: s.master for s in topology.shards}
    owners: list[Node | None] = [None] * SLOTS
    shard = topology.shards[0].master
    reply = call(Endpoint(shard.host, shard.port, auth), "CLUSTER", "SLOTS")
    for entry in reply:
        first, last, primary = int(entry[0]), int(entry[1]), entry[2]
        address = f"{bytes(primary[0]).decode()}:{int(primary[1])}"
        node = masters.get(address)
        if node is None:
            raise NodeError(f"slot {first} is owned by {address}, a node keyscope does not know",
                            node=shard.address)  # fmt: skip
        owners[first : last + 1] = [node] * (last - first + 1)
    missing = [i for i, n in enumerate(owners) if n is None]
    if missing:
        raise NodeError(f"slot {missing[0]} has no master", node=shard.address)
    return [n for n in owners if n is not None]


@dataclass(slots=True)
class RestoreCounts:
    restored: int = 0
    skipped_expired: int = 0
    by_node: dict[str, int] = field(default_factory=dict)


def keys_present(topology: Topology, auth: Auth) -> int:
    """How many keys the target's masters hold (DBSIZE of every logical database)."""
    total = 0
    for shard in topology.shards:
        node = shard.master
        reply = call(Endpoint(node.host, node.port, auth), "INFO", "keyspace")
        for line in bytes(reply).decode("utf-8", "replace").splitlines():
            if line.startswith("db") and "keys=" in line:
                total += int(line.split("keys=", 1)[1].split(",", 1)[0])
    return total


class _Writer:
    """One connection per master, its pending batch, its throttle."""

    def __init__(self, node: Node, auth: Auth, rate: int | None, force: bool) -> None:
        self.node = node
        self.conn: RawConnection = open_connection(
            Endpoint(node.host, node.port, auth), socket_timeout=defaults.SOCKET_TIMEOUT_S
        )
        self.throttle = Throttle(rate)
        self.force = force
        self.db = 0
        self.pending: list[bytes] = []
        self.keys: list[bytes | None] = []
        self.batch = min(BATCH, self.throttle.batch_budget() or BATCH)

    def add(self, item: Payload, ttl: int) -> None:
        if item.db != self.db:
            self.pending.append(pack("SELECT", item.db))
            self.keys.append(None)
            self.db = item.db
        args: list[str | bytes | int] = ["RESTORE", item.key, ttl, item.payload]
        if ttl:
            args.append("ABSTTL")
        if self.force:
            args.append("REPLACE")
        self.pending.append(pack(*args))
        self.keys.append(item.key)

    def flush(self) -> int:
        if not self.pending:
            return 0
        self.throttle.wait()
        self.conn.send(b"".join(self.pending))
        replies = self.conn.read(len(self.pending))
        self.throttle.record(len(replies))
        written = 0
        for key, reply in zip(self.keys, replies, strict=True):
            if isinstance(reply, hiredis.ReplyError):
                self.conn.check_denied([reply], "RESTORE" if key is not None else "SELECT")
                _refused(self.node, key, str(reply))
            written += key is not None
        self.pending.clear()
        self.keys.clear()
        return written

    def close(self) -> None:
        self.conn.close()


def _refused(node: Node, key: bytes | None, text: str) -> None:
    shown = repr(key[:200])[1:] if key is not None else "SELECT"
    if text.startswith("BUSYKEY"):
        raise Conflict(f"{node.address}: the key {shown} exists already; restore with force "
                       "to overwrite it", code=KEY_EXISTS)  # fmt: skip
    raise NodeError(f"RESTORE of {shown} was refused: {text[:200]}", node=node.address)


def restore_payloads(
    topology: Topology,
    auth: Auth,
    payloads: Iterable[Payload],
    *,
    force: bool,
    max_ops_per_sec: int | None,
    cancel: Cancellation,
    progress: Callable[[int], None],
    now_ms: Callable[[], int] = lambda: int(time.time() * 1000),
) -> RestoreCounts:
    """Write every payload to the master that owns its key; keys already expired are skipped."""
    cluster = topology.mode is InstanceMode.CLUSTER
    owners = slot_owners(topology, auth) if cluster else None
    writers: dict[str, _Writer] = {}
    counts = RestoreCounts()
    try:
        for item in payloads:
            if cancel.cancelled:
                raise TaskCancelled("the restore was deleted")
            if item.expiry_ms is not None and item.expiry_ms <= now_ms():
                counts.skipped_expired += 1
                continue
            if cluster and item.db != 0:
                raise InvalidInput(f"the backup has keys in database {item.db}; a cluster has "
                                   "database 0 only", code=RESTORE_REFUSED)  # fmt: skip
            node = owners[key_slot(item.key)] if owners else topology.shards[0].master
            writer = writers.get(node.address)
            if writer is None:
                writer = writers[node.address] = _Writer(node, auth, max_ops_per_sec, force)
            writer.add(item, item.expiry_ms or 0)
            if len(writer.pending) >= writer.batch:
                written = writer.flush()
                counts.restored += written
                counts.by_node[node.address] = counts.by_node.get(node.address, 0) + written
                progress(counts.restored)
        for address, writer in writers.items():
            written = writer.flush()
            counts.restored += written
            counts.by_node[address] = counts.by_node.get(address, 0) + written
        progress(counts.restored)
        return counts
    finally:
        for writer in writers.values():
            writer.close()
