"""A snapshot taken over the replication protocol is the node's keyspace, byte for byte."""

from __future__ import annotations

import importlib
import stat
import subprocess
from pathlib import Path
from typing import BinaryIO

import pytest

from keyscope.domain.errors import NodeAuthFailed, NodeUnreachable
from keyscope.redis.auth import Auth
from keyscope.redis.replication import ReplicationSnapshot, save_snapshot
from tests.utils.servers import RedisServer, free_port, start_server, wait_in_sync

pytestmark = pytest.mark.integration

HAVE_READER = hasattr(importlib.import_module("keyscope.rdb"), "iter_records")


def _populate(server: RedisServer) -> int:
    c = server.client()
    pipe = c.pipeline(transaction=False)
    for i in range(300):
        pipe.set(f"str:{i}", "v" * (i % 50))
    pipe.set("big:blob", "x" * 200_000)
    pipe.rpush("list:q", *range(500))
    pipe.sadd("set:ints", *range(100))
    pipe.sadd("set:words", *[f"w{i}" for i in range(200)])
    pipe.zadd("zset:small", {"a": 1, "b": 2})
    pipe.zadd("zset:big", {f"m{i}": i for i in range(300)})
    pipe.hset("hash:small", mapping={"f": "v"})
    pipe.hset("hash:big", mapping={f"f{i}": "v" * 100 for i in range(300)})
    pipe.set("ttl:key", "x", px=3_600_000)
    pipe.execute()
    c1 = server.client(db=2)
    c1.set("other:db", "1")
    return 300 + 9 + 1


def _digest(server: RedisServer) -> bytes:
    digest = server.client().execute_command("DEBUG", "DIGEST")
    return digest if isinstance(digest, bytes) else str(digest).encode()


def _restore(snapshot: Path, workdir: Path) -> RedisServer:
    workdir.mkdir(parents=True)
    (workdir / "dump.rdb").write_bytes(snapshot.read_bytes())
    return start_server(workdir)


@pytest.mark.parametrize("diskless", [False, True], ids=["disk", "diskless"])
def test_snapshot_over_replication_restores_to_the_same_keyspace(
    redis_server: RedisServer, tmp_path: Path, diskless: bool
) -> None:
    _populate(redis_server)
    c = redis_server.client()
    c.config_set("repl-diskless-sync", "yes" if diskless else "no")
    c.config_set("repl-diskless-sync-delay", "0")
    dest = tmp_path / "backup.rdb"

    size = save_snapshot(redis_server.host, redis_server.port, dest)

    assert size == dest.stat().st_size > 0
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    check = subprocess.run(
        ["redis-check-rdb", str(dest)], check=False, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    restored = _restore(dest, tmp_path / "restored")
    try:
        assert _digest(restored) == _digest(redis_server)
        assert restored.client(db=2).get("other:db") == b"1"
    finally:
        restored.stop()


@pytest.mark.skipif(not HAVE_READER, reason="the RDB reader has not landed")
def test_snapshot_streams_into_the_reader_while_it_arrives(redis_server: RedisServer) -> None:
    from keyscope.rdb import iter_records  # type: ignore[attr-defined]

    expected = _populate(redis_server)
    with ReplicationSnapshot(redis_server.host, redis_server.port) as snap:
        records = list(iter_records(snap))
    assert len(records) == expected
    assert {r.key for r in records if r.db == 2} == {b"other:db"}


def test_wrong_password_fails_naming_the_node_not_the_password(tmp_path: Path) -> None:
    server = start_server(tmp_path / "auth", password="s3cret-pw")
    try:
        with pytest.raises(NodeAuthFailed) as info:
            save_snapshot(
                server.host, server.port, tmp_path / "x.rdb", auth=Auth(password="wrong-pw-123")
            )
        assert server.address in str(info.value)
        assert "wrong-pw-123" not in str(info.value)
        assert "s3cret-pw" not in str(info.value)
        assert not (tmp_path / "x.rdb").exists()
        assert not (tmp_path / "x.rdb.part").exists()
    finally:
        server.stop()


def test_missing_password_is_an_auth_failure(tmp_path: Path) -> None:
    server = start_server(tmp_path / "auth", password="s3cret-pw")
    try:
        with pytest.raises(NodeAuthFailed):
            save_snapshot(server.host, server.port, tmp_path / "x.rdb")
    finally:
        server.stop()


def test_right_password_takes_the_snapshot(tmp_path: Path) -> None:
    server = start_server(tmp_path / "auth", password="s3cret-pw")
    try:
        server.client().set("k", "v")
        size = save_snapshot(
            server.host, server.port, tmp_path / "x.rdb", auth=Auth(password="s3cret-pw")
        )
        assert size > 0
        assert (tmp_path / "x.rdb").read_bytes()[:5] == b"REDIS"
    finally:
        server.stop()


def test_a_node_that_does_not_answer_is_unreachable(tmp_path: Path) -> None:
    port = free_port()
    with pytest.raises(NodeUnreachable) as info:
        save_snapshot("127.0.0.1", port, tmp_path / "x.rdb", connect_timeout=1)
    assert f"127.0.0.1:{port}" in str(info.value)


def test_snapshot_of_a_replica_holds_the_masters_keyspace(
    redis_with_replica: tuple[RedisServer, RedisServer], tmp_path: Path
) -> None:
    master, replica = redis_with_replica
    _populate(master)
    wait_in_sync(master, replica)
    replica.client().config_set("repl-diskless-sync-delay", "0")
    dest = tmp_path / "replica.rdb"
    save_snapshot(replica.host, replica.port, dest)
    restored = _restore(dest, tmp_path / "restored")
    try:
        assert _digest(restored) == _digest(master)
    finally:
        restored.stop()


def test_a_consumer_reads_the_snapshot_while_it_is_written(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    _populate(redis_server)
    seen: list[bytes] = []

    def consume(stream: BinaryIO) -> None:
        seen.append(stream.read(1000))  # stops early: the rest must still reach the file

    dest = tmp_path / "tee.rdb"
    save_snapshot(redis_server.host, redis_server.port, dest, consume=consume)
    data = dest.read_bytes()
    assert seen == [data[:1000]]
    check = subprocess.run(["redis-check-rdb", str(dest)], check=False, capture_output=True)
    assert check.returncode == 0
