"""Restores (DCS #32-#33): a backup's keys written back with RESTORE, on real servers."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import redis

from keyscope.analysis.slots import key_slot
from keyscope.rdb.payloads import read_payloads
from tests.integration._offline_service import Service, running_service
from tests.utils.dcs import SignedClient
from tests.utils.servers import Cluster, RedisServer, start_server

CORPUS = Path(__file__).parents[1] / "data" / "rdb-corpus"


def write_every_type(r: redis.Redis) -> None:
    r.set("s:plain", "hello")
    r.set("s:int", 12345)
    r.set("s:big", b"\x00\xff" * 40_000)
    r.set("s:ttl", "soon", px=3_600_000)
    r.rpush("l:small", *range(10))
    r.rpush("l:big", *[f"item-{i}" * 5 for i in range(3000)])
    r.sadd("set:ints", *range(50))
    r.sadd("set:strs", *[f"m{i}" for i in range(300)])
    r.zadd("z:small", {f"a{i}": i for i in range(10)})
    r.zadd("z:big", {f"member-{i}": i / 3 for i in range(500)})
    r.hset("h:small", mapping={f"f{i}": i for i in range(10)})
    r.hset("h:big", mapping={f"field-{i}": "v" * 80 for i in range(700)})
    r.expire("h:big", 7200)
    r.xadd("x:stream", {"a": "1"})
    r.xadd("x:stream", {"b": "2"})
    r.xgroup_create("x:stream", "g1", id="0")
    r.xreadgroup("g1", "c1", {"x:stream": ">"}, count=1)
    r.select(3)
    r.set("db3:key", "in another db")
    r.select(0)


def value_of(r: redis.Redis, key: bytes, kind: bytes) -> Any:
    """The value as the commands read it (a hashtable's DUMP order may differ after RESTORE)."""
    if kind == b"string":
        return r.get(key)
    if kind == b"list":
        return r.lrange(key, 0, -1)
    if kind == b"set":
        return r.smembers(key)
    if kind == b"zset":
        return r.zrange(key, 0, -1, withscores=True)
    if kind == b"hash":
        return r.hgetall(key)
    assert kind == b"stream"
    groups = [(g["name"], g["pending"], g["last-delivered-id"]) for g in r.xinfo_groups(key)]
    return r.xrange(key), groups


def keyspace(server: RedisServer) -> dict[tuple[int, bytes], tuple[bytes, Any, int]]:
    """Every key of every db: (type, value, TTL rounded to minutes)."""
    found = {}
    for db in range(16):
        r = redis.Redis(host=server.host, port=server.port, password=server.password, db=db)
        for key in r.scan_iter(count=1000):
            ttl = r.pttl(key)
            kind = r.type(key)
            found[(db, key)] = (
                kind,
                value_of(r, key, kind),
                round(ttl / 60_000) if ttl > 0 else ttl,
            )
    return found


def wait_restore(dcs: SignedClient, base: str, restore_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        records = dcs.get(f"{base}/restores").json()["restore_record_response"]
        record = next(r for r in records if r["restore_id"] == restore_id)
        if record["status"] in ("succeed", "failed") or time.monotonic() > deadline:
            return record
        time.sleep(0.1)


def take_backup(svc: Service) -> str:
    created = svc.dcs.post(f"{svc.base}/backups", json_body={"remark": "before"})
    assert created.status_code == 200, created.text
    backup_id = str(created.json()["backup_id"])
    listing = svc.wait_for(
        lambda: svc.dcs.get(f"{svc.base}/backups").json(),
        lambda body: body["backup_record_response"][0]["status"] in ("succeed", "failed"),
    )
    assert listing["backup_record_response"][0]["status"] == "succeed", listing
    assert listing["backup_record_response"][0]["is_support_restore"] == "TRUE"
    return backup_id


def register(dcs: SignedClient, addresses: list[str], mode: str = "single") -> str:
    created = dcs.post("/instances", json_body={"name": "t", "mode": mode, "addresses": addresses})
    assert created.status_code == 200, created.text
    return str(created.json()["instance_id"])


def test_the_payloads_read_from_the_file_are_the_servers_own_dump_of_each_key(
    redis_server: RedisServer,
) -> None:
    r = redis_server.client()
    write_every_type(r)
    r.save()
    rdb = Path(r.config_get("dir")["dir"]) / "dump.rdb"
    payloads = {(p.db, p.key): p for p in read_payloads(rdb)}
    assert len(payloads) == 14
    for (db, key), item in payloads.items():
        dumped = redis.Redis(host=redis_server.host, port=redis_server.port, db=db).dump(key)
        assert item.payload == dumped, key


def test_a_restore_into_an_empty_server_reproduces_every_key_type_value_and_ttl(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    write_every_type(redis_server.client())
    target = start_server(tmp_path / "target")
    try:
        with running_service(tmp_path, redis_server) as svc:
            backup_id = take_backup(svc)
            target_id = register(svc.dcs, [target.address])
            base = f"/instances/{target_id}"
            body = {"backup_id": backup_id, "remark": "copy"}
            created = svc.dcs.post(f"{base}/restores", json_body=body)
            assert created.status_code == 200, created.text
            record = wait_restore(svc.dcs, base, created.json()["restore_id"])
        assert record["status"] == "succeed", record
        assert record["restored_keys"] == 14
        assert (record["backup_id"], record["restore_remark"], record["progress"]) == (
            backup_id,
            "copy",
            "100.00",
        )
        assert keyspace(target) == keyspace(redis_server)
    finally:
        target.stop()


def test_a_non_empty_target_is_refused_without_force_and_overwritten_with_it(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    write_every_type(redis_server.client())
    target = start_server(tmp_path / "target")
    try:
        target.client().set("s:plain", "the target's own value")
        target.client().set("other", "kept")
        with running_service(tmp_path, redis_server) as svc:
            backup_id = take_backup(svc)
            target_id = register(svc.dcs, [target.address])
            base = f"/instances/{target_id}"
            refused = svc.dcs.post(f"{base}/restores", json_body={"backup_id": backup_id})
            assert refused.status_code == 400, refused.text
            assert refused.json()["error_code"] == "DCS.4976"
            assert "holds 2 keys" in refused.json()["error_msg"]
            assert svc.dcs.get(f"{base}/restores").json()["total_num"] == 0

            forced = svc.dcs.post(f"{base}/restores",
                                  json_body={"backup_id": backup_id, "force": True})  # fmt: skip
            assert forced.status_code == 200, forced.text
            record = wait_restore(svc.dcs, base, forced.json()["restore_id"])
        assert record["status"] == "succeed", record
        assert target.client().get("s:plain") == b"hello"
        assert target.client().get("other") == b"kept"
    finally:
        target.stop()


def test_a_key_that_appears_during_the_restore_fails_it_naming_the_key(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    """The up-front check saw an empty target; a key written meanwhile still stops it."""
    from keyscope.domain.errors import Conflict
    from keyscope.domain.scan import Cancellation
    from keyscope.redis.auth import NO_AUTH
    from keyscope.redis.restore import restore_payloads
    from tests.utils.service import single_topology

    r = redis_server.client()
    write_every_type(r)
    r.save()
    rdb = Path(r.config_get("dir")["dir"]) / "dump.rdb"
    target = start_server(tmp_path / "target")
    try:
        target.client().set("s:int", "written meanwhile")
        with pytest.raises(Conflict) as refused:
            restore_payloads(single_topology(port=target.port), NO_AUTH, read_payloads(rdb),
                             force=False, max_ops_per_sec=None, cancel=Cancellation(),
                             progress=lambda _n: None)  # fmt: skip
        assert refused.value.code == "DCS.4976"
        assert "s:int" in str(refused.value)
    finally:
        target.stop()


def test_a_backup_in_a_newer_format_than_the_target_loads_is_refused_up_front(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    """Debian's Redis 7.0 loads RDB 10; a file written by Redis 7.4 (RDB 12) is refused."""
    newer = (CORPUS / "hdt3213-rdb" / "hash_with_hfe.rdb").read_bytes()
    assert newer.startswith(b"REDIS0012")
    with running_service(tmp_path, redis_server) as svc:
        uploaded = svc.dcs.post(f"{svc.base}/backups/upload", content=newer)
        assert uploaded.status_code == 200, uploaded.text
        refused = svc.dcs.post(f"{svc.base}/restores",
                               json_body={"backup_id": uploaded.json()["backup_id"]})  # fmt: skip
        assert refused.status_code == 400, refused.text
        body = refused.json()
        assert body["error_code"] == "DCS.4975"
        assert "REDIS 12" in body["error_msg"] and "up to 10" in body["error_msg"]


def test_an_unknown_backup_is_a_dcs_404(tmp_path: Path, redis_server: RedisServer) -> None:
    with running_service(tmp_path, redis_server) as svc:
        missing = svc.dcs.post(f"{svc.base}/restores", json_body={"backup_id": "nope"})
        assert missing.status_code == 404
        assert missing.json()["error_code"] == "DCS.4043"


def test_a_restore_into_a_cluster_sends_each_key_to_the_shard_owning_its_slot(
    tmp_path: Path, redis_server: RedisServer, redis_cluster: Cluster
) -> None:
    source = redis_server.client()
    keys = [f"user:{i}".encode() for i in range(300)] + [b"{tag}:a", b"{tag}:b"]
    source.mset({k: b"v" + k for k in keys})
    source.set(b"user:0", b"expiring", px=3_600_000)
    for master in redis_cluster.masters:
        master.client().flushall()
    with running_service(tmp_path, redis_server) as svc:
        backup_id = take_backup(svc)
        target_id = register(svc.dcs, redis_cluster.addresses, mode="cluster")
        base = f"/instances/{target_id}"
        created = svc.dcs.post(f"{base}/restores", json_body={"backup_id": backup_id})
        assert created.status_code == 200, created.text
        record = wait_restore(svc.dcs, base, created.json()["restore_id"])
    assert record["status"] == "succeed", record
    for master in redis_cluster.masters:
        c = master.client()
        held = set(c.scan_iter(count=1000))
        owned = {k for k in keys if c.cluster("countkeysinslot", key_slot(k)) and k in held}
        assert held == owned
        for k in held:
            assert c.cluster("keyslot", k) == key_slot(k)
            assert c.get(k) == (b"expiring" if k == b"user:0" else b"v" + k)
    assert sum(m.client().dbsize() for m in redis_cluster.masters) == len(keys)
    assert 0 < redis_cluster.client().pttl(b"user:0") <= 3_600_000


def test_a_backup_with_keys_beyond_db_0_fails_on_a_cluster_saying_why(
    tmp_path: Path, redis_server: RedisServer, redis_cluster: Cluster
) -> None:
    redis_server.client().set("a", "1")
    redis.Redis(host=redis_server.host, port=redis_server.port, db=2).set("b", "2")
    for master in redis_cluster.masters:
        master.client().flushall()
    with running_service(tmp_path, redis_server) as svc:
        backup_id = take_backup(svc)
        target_id = register(svc.dcs, redis_cluster.addresses, mode="cluster")
        base = f"/instances/{target_id}"
        created = svc.dcs.post(f"{base}/restores", json_body={"backup_id": backup_id})
        record = wait_restore(svc.dcs, base, created.json()["restore_id"])
    assert record["status"] == "failed"
    assert record["error_code"] == "dcs.08.0007"
    assert "database 2" in record["reason"]
