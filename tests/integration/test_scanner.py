"""The live scanner: throttle accounting, failure of a node, cancellation, per-shard cursors."""

from __future__ import annotations

import pytest

from keyscope.domain.errors import NodeUnreachable, TaskCancelled
from keyscope.domain.scan import Cancellation, ScanOptions
from keyscope.domain.topology import InstanceMode
from keyscope.redis.auth import NO_AUTH
from keyscope.redis.connection import Endpoint, open_connection, pack
from keyscope.redis.probes import CountProbe, SizeProbe
from keyscope.redis.scanner import Scanner, ScanTarget
from keyscope.redis.throttle import Throttle
from keyscope.redis.topology import discover
from tests.utils.servers import Cluster, RedisServer

pytestmark = pytest.mark.integration


def populate(server: RedisServer, n: int) -> None:
    with server.client() as c:
        c.execute_command("DEBUG", "POPULATE", n, "key", 10)


def calls(server: RedisServer) -> dict[str, int]:
    with server.client() as c:
        stats = c.info("commandstats")
    return {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items()}


def dbsize(server: RedisServer) -> int:
    with server.client() as c:
        return int(c.dbsize())


def target_of(server: RedisServer) -> ScanTarget:
    topology = discover(InstanceMode.SINGLE, [server.address], NO_AUTH)
    return ScanTarget(topology.nodes[0])


def test_throttled_scan_holds_the_set_rate_and_counts_what_the_server_counts(
    redis_server: RedisServer,
) -> None:
    populate(redis_server, 3000)
    target = target_of(redis_server)
    before = calls(redis_server)
    scanner = Scanner([target], NO_AUTH, SizeProbe(), ScanOptions(max_ops_per_sec=3000))

    records = [r for page in scanner for r in page]

    after = calls(redis_server)
    # SCAN, the probes, and the ECHO that closes each pipelined group
    served = sum(after.get(c, 0) - before.get(c, 0) for c in ("scan", "type", "strlen", "echo"))
    throttle = scanner.throttles[redis_server.address]
    assert len(records) == 3000
    assert throttle.ops == served
    assert throttle.achieved_rate == pytest.approx(3000, rel=0.10)


def test_throttle_schedule_holds_the_rate_whatever_the_batch_sizes() -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    throttle = Throttle(500, clock=lambda: now[0], sleep=sleep)
    for ops in [10, 200, 3, 50, 120, 7, 80] * 20:
        throttle.wait()
        now[0] += 0.001  # the node's reply time
        throttle.record(ops)

    assert throttle.ops == 470 * 20
    assert throttle.achieved_rate == pytest.approx(500, rel=0.05)
    assert throttle.achieved_rate <= 500 * 1.05


def test_unthrottled_never_waits() -> None:
    throttle = Throttle(None, clock=lambda: 0.0, sleep=lambda s: pytest.fail("slept"))
    throttle.wait()
    throttle.record(10**6)
    assert throttle.ops == 10**6


def test_node_killed_mid_scan_fails_the_scan_naming_the_node(redis_server: RedisServer) -> None:
    populate(redis_server, 20_000)
    target = target_of(redis_server)
    assert redis_server.process is not None
    process = redis_server.process

    def kill_after_first_page(scanned: int, total: int | None) -> None:
        if process.poll() is None:
            process.kill()
            process.wait()

    scanner = Scanner(
        [target],
        NO_AUTH,
        SizeProbe(),
        ScanOptions(max_ops_per_sec=None, scan_count=100),
        progress=kill_after_first_page,
    )
    with pytest.raises(NodeUnreachable) as caught:
        for _ in scanner:
            pass
    assert caught.value.node == redis_server.address
    assert redis_server.address in str(caught.value)


def test_deleting_the_task_stops_the_scan(redis_server: RedisServer) -> None:
    populate(redis_server, 5000)
    target = target_of(redis_server)
    cancel = Cancellation()

    def cancel_at_once(scanned: int, total: int | None) -> None:
        cancel.cancel()

    scanner = Scanner(
        [target],
        NO_AUTH,
        SizeProbe(),
        ScanOptions(max_ops_per_sec=None, scan_count=100),
        progress=cancel_at_once,
        cancel=cancel,
    )
    with pytest.raises(TaskCancelled):
        for _ in scanner:
            pass
    assert scanner.stats.total_keys < 5000


def test_each_cluster_shard_is_walked_to_the_end_with_its_own_cursor(
    redis_cluster: Cluster,
) -> None:
    with redis_cluster.client() as rc:
        rc.flushall()
        for i in range(600):
            rc.set(f"k:{i}", "v")
    topology = discover(InstanceMode.CLUSTER, [redis_cluster.addresses[0]], NO_AUTH)
    targets = [ScanTarget(s.master, (0,), s.master.address) for s in topology.shards]

    scanner = Scanner(
        targets, NO_AUTH, CountProbe(), ScanOptions(max_ops_per_sec=None, scan_count=10)
    )
    pages = list(scanner)

    per_node = {s.address: dbsize(s) for s in redis_cluster.masters}
    assert scanner.stats.keys == per_node
    assert sum(n for page in pages for n in page) == 600
    assert all(n > 0 for n in per_node.values())


def test_a_key_that_looks_like_the_group_marker_does_not_cut_the_replies_short(
    redis_server: RedisServer,
) -> None:
    marker = b"M" * 24
    tricky = b"\r\n$24\r\n" + marker + b"\r\n"
    with redis_server.client() as c:
        c.set(tricky, tricky)
        c.set("plain", "v")
    conn = open_connection(Endpoint(redis_server.host, redis_server.port))
    try:
        conn._marker = marker
        conn._marker_reply = tricky
        conn.marker_command = pack("ECHO", marker)

        conn.send(pack("SCAN", 0, "COUNT", 100) + pack("GET", tricky) + conn.marker_command)
        (scan, value) = conn.read_group(2)
    finally:
        conn.close()
    assert sorted(scan[1]) == sorted([tricky, b"plain"])
    assert value == tricky
