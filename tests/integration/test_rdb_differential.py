"""What the reader finds in a server's RDB equals what that server reports for the keyspace.

The redis-server on PATH under non-default encoding thresholds and compressed lists; every
engine of the matrix, and the memory targets, are in ``test_engine_differential.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from keyscope.domain.keys import KeyRecord
from keyscope.rdb import iter_records
from tests.utils.keyspaces import SIZE_COMMANDS, write_mixed_keyspace, write_threshold_keyspace
from tests.utils.servers import RedisServer, start_server

pytestmark = pytest.mark.integration

SMALL_THRESHOLDS = [
    "--list-max-listpack-size", "4",
    "--list-compress-depth", "1",
    "--set-max-intset-entries", "16",
    "--hash-max-listpack-entries", "8",
    "--hash-max-listpack-value", "16",
    "--zset-max-listpack-entries", "8",
    "--zset-max-listpack-value", "16",
    "--stream-node-max-entries", "7",
]  # fmt: skip
"""Config that pushes the mixed keyspace into every non-compact encoding early."""


@pytest.fixture(scope="module")
def saved_keyspace(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[RedisServer, list[KeyRecord]]]:
    """A default-config redis-server holding both keyspaces, and the records of its RDB."""
    server = start_server(tmp_path_factory.mktemp("differential"))
    try:
        write_mixed_keyspace(server.client())
        write_threshold_keyspace(server.client())
        yield server, _save_and_read(server)
    finally:
        server.stop()


@pytest.fixture
def small_thresholds_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = start_server(tmp_path / "small", extra=SMALL_THRESHOLDS)
    yield server
    server.stop()


def _save_and_read(server: RedisServer) -> list[KeyRecord]:
    server.client().save()
    return list(iter_records(server.workdir / "dump.rdb"))


def _check_against_server(
    server: RedisServer, records: list[KeyRecord], *, string_encodings: bool = True
) -> None:
    clients: dict[int, redis.Redis] = {}
    for rec in records:
        client = clients.setdefault(rec.db, server.client(db=rec.db))
        assert client.type(rec.key).decode() == rec.type, rec.key
        assert client.execute_command(SIZE_COMMANDS[rec.type], rec.key) == rec.num_elements
        expiry = client.execute_command("PEXPIRETIME", rec.key)
        assert rec.expiry_ms == (None if expiry == -1 else expiry), rec.key
        if rec.type != "string" or string_encodings:
            assert client.object("encoding", rec.key).decode() == rec.encoding, rec.key
    total = sum(server.client(db=db).dbsize() for db in range(16))
    assert len(records) == total
    assert len({(r.db, r.key) for r in records}) == total


def test_every_key_type_count_expiry_and_encoding_equal_what_redis_reports(
    saved_keyspace: tuple[RedisServer, list[KeyRecord]],
) -> None:
    server, records = saved_keyspace
    assert {r.db for r in records} == {0, 3}
    assert any(r.expiry_ms for r in records)
    _check_against_server(server, records)


def test_small_encoding_thresholds_give_the_same_keys_counts_and_encodings(
    small_thresholds_server: RedisServer,
) -> None:
    server = small_thresholds_server
    write_mixed_keyspace(server.client())
    records = _save_and_read(server)
    encodings = {(r.type, r.encoding) for r in records}
    assert {("list", "quicklist"), ("set", "intset"), ("set", "hashtable")} <= encodings
    assert {("hash", "listpack"), ("hash", "hashtable")} <= encodings
    assert {("zset", "listpack"), ("zset", "skiplist")} <= encodings
    _check_against_server(server, records)


def test_a_compressed_list_and_large_listpacks_are_counted_exactly(tmp_path: Path) -> None:
    server = start_server(
        tmp_path / "compressed",
        extra=[
            "--list-compress-depth", "1",
            "--hash-max-listpack-entries", "1000",
            "--zset-max-listpack-entries", "1000",
        ],
    )  # fmt: skip
    try:
        client = server.client()
        client.rpush("clist", *[f"element-{i:06d}-" * 4 for i in range(20_000)])
        client.hset("bighash", mapping={f"f{i}": "v" * 10 for i in range(900)})
        client.zadd("bigzset", {f"m{i}": i for i in range(900)})
        records = {r.key: r for r in _save_and_read(server)}
        assert records[b"clist"].num_elements == 20_000
        assert records[b"bighash"].encoding == "listpack"
        assert records[b"bighash"].num_elements == 900
        assert records[b"bigzset"].num_elements == 900
        _check_against_server(server, list(records.values()))
    finally:
        server.stop()
