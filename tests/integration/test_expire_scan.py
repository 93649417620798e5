"""Expired-key scans: keys past their TTL that nobody touched are reclaimed and counted."""

from __future__ import annotations

import time

import pytest

from keyscope.analysis.expire import ensure_expire_scan_supported, scan_expired
from keyscope.domain.errors import Unsupported
from keyscope.domain.scan import ScanOptions
from keyscope.domain.topology import InstanceMode, Topology
from keyscope.redis.auth import NO_AUTH
from keyscope.redis.topology import discover
from tests.utils.servers import Cluster, RedisServer

pytestmark = pytest.mark.integration


def write_expiring(server: RedisServer, db: int, prefix: str, n: int, ttl_ms: int | None) -> None:
    with server.client(db=db) as c:
        pipe = c.pipeline(transaction=False)
        for i in range(n):
            pipe.set(f"{prefix}:{i}", "v", px=ttl_ms)
        pipe.execute()


def dbsize(server: RedisServer, db: int) -> int:
    with server.client(db=db) as c:
        return int(c.dbsize())


def stop_active_expiry(*servers: RedisServer) -> None:
    for server in servers:
        with server.client() as c:
            c.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")


def test_scan_reclaims_every_expired_key_of_every_db_and_counts_it(
    redis_server: RedisServer,
) -> None:
    stop_active_expiry(redis_server)
    write_expiring(redis_server, 0, "gone", 300, ttl_ms=20)
    write_expiring(redis_server, 3, "gone", 120, ttl_ms=20)
    write_expiring(redis_server, 0, "kept", 500, ttl_ms=None)
    write_expiring(redis_server, 3, "kept", 80, ttl_ms=600_000)
    time.sleep(0.1)
    assert dbsize(redis_server, 0) == 800  # expired, but still held
    topology = discover(InstanceMode.SINGLE, [redis_server.address], NO_AUTH)

    result = scan_expired(topology, NO_AUTH, ScanOptions(scan_count=10))

    assert result.expired_keys == 420
    assert result.scanned_keys == 580
    assert (dbsize(redis_server, 0), dbsize(redis_server, 3)) == (500, 80)


def test_scan_of_a_master_replica_instance_runs_on_the_master(
    redis_with_replica: tuple[RedisServer, RedisServer],
) -> None:
    master, replica = redis_with_replica
    stop_active_expiry(master)
    write_expiring(master, 0, "gone", 50, ttl_ms=20)
    write_expiring(master, 0, "kept", 10, ttl_ms=None)
    time.sleep(0.1)
    topology = discover(InstanceMode.HA, [replica.address], NO_AUTH)

    result = scan_expired(topology, NO_AUTH, ScanOptions(scan_count=10))

    assert (result.expired_keys, result.scanned_keys) == (50, 10)
    assert dbsize(master, 0) == 10


def test_scan_of_a_cluster_covers_every_master(redis_cluster: Cluster) -> None:
    stop_active_expiry(*redis_cluster.masters)
    with redis_cluster.client() as rc:
        rc.flushall()
        for i in range(90):
            rc.set(f"gone:{i}", "v", px=20)
        for i in range(30):
            rc.set(f"kept:{i}", "v")
    time.sleep(0.1)
    topology = discover(InstanceMode.CLUSTER, [redis_cluster.addresses[0]], NO_AUTH)

    result = scan_expired(topology, NO_AUTH, ScanOptions(scan_count=10))

    assert (result.expired_keys, result.scanned_keys) == (90, 30)
    assert sum(dbsize(s, 0) for s in redis_cluster.masters) == 30


def test_cluster_scan_reports_each_masters_part(redis_cluster: Cluster) -> None:
    stop_active_expiry(*redis_cluster.masters)
    with redis_cluster.client() as rc:
        rc.flushall()
        for i in range(60):
            rc.set(f"gone:{i}", "v", px=20)
        for i in range(24):
            rc.set(f"kept:{i}", "v")
    time.sleep(0.1)
    with redis_cluster.client() as rc:
        kept_on = {
            s.address: sum(1 for i in range(24) if rc.get_node_from_key(f"kept:{i}").port == s.port)
            for s in redis_cluster.masters
        }
        gone_on = {
            s.address: sum(1 for i in range(60) if rc.get_node_from_key(f"gone:{i}").port == s.port)
            for s in redis_cluster.masters
        }
    topology = discover(InstanceMode.CLUSTER, [redis_cluster.addresses[0]], NO_AUTH)

    result = scan_expired(topology, NO_AUTH, ScanOptions(scan_count=10))

    assert {n.node: (n.expired_keys, n.scanned_keys) for n in result.nodes} == {
        a: (gone_on[a], kept_on[a]) for a in kept_on
    }
    assert sum(n.expired_keys for n in result.nodes) == result.expired_keys == 60


def test_timeout_stops_the_scan_and_reports_what_was_done(redis_server: RedisServer) -> None:
    write_expiring(redis_server, 0, "kept", 200, ttl_ms=None)
    topology = discover(InstanceMode.SINGLE, [redis_server.address], NO_AUTH)

    result = scan_expired(topology, NO_AUTH, ScanOptions(scan_count=10), timeout_s=0)

    assert result.scanned_keys == 0
    assert result.expired_keys == 0


def test_redis_3_0_is_refused_with_dcs_4818() -> None:
    with pytest.raises(Unsupported) as caught:
        ensure_expire_scan_supported(Topology(InstanceMode.SINGLE, "redis", "3.0.7"))
    assert caught.value.code == "DCS.4818"
    assert "3.0.7" in caught.value.message
