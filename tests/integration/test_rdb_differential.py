"""What the reader finds in a server's RDB equals what that server reports for the keyspace."""

from __future__ import annotations

import statistics
from collections import defaultdict
from pathlib import Path

import pytest
import redis

from keyscope.domain.keys import KeyRecord
from keyscope.rdb import iter_records
from tests.utils.keyspaces import write_mixed_keyspace
from tests.utils.servers import RedisServer

pytestmark = pytest.mark.integration

_SIZE_COMMAND = {
    "string": "STRLEN",
    "list": "LLEN",
    "set": "SCARD",
    "zset": "ZCARD",
    "hash": "HLEN",
    "stream": "XLEN",
}


def _save_and_read(server: RedisServer) -> list[KeyRecord]:
    server.client().save()
    return list(iter_records(server.workdir / "dump.rdb"))


def _check_against_server(
    server: RedisServer, records: list[KeyRecord], *, string_encodings: bool = True
) -> None:
    clients: dict[int, redis.Redis] = {}
    seen = 0
    for rec in records:
        client = clients.setdefault(rec.db, server.client(db=rec.db))
        assert client.type(rec.key).decode() == rec.type, rec.key
        assert client.execute_command(_SIZE_COMMAND[rec.type], rec.key) == rec.num_elements
        expiry = client.execute_command("PEXPIRETIME", rec.key)
        assert rec.expiry_ms == (None if expiry == -1 else expiry), rec.key
        if rec.type != "string" or string_encodings:
            assert client.object("encoding", rec.key).decode() == rec.encoding, rec.key
        seen += 1
    total = sum(server.client(db=db).dbsize() for db in range(16))
    assert seen == total


def test_every_key_type_count_expiry_and_encoding_equal_what_redis_reports(
    redis_server: RedisServer,
) -> None:
    write_mixed_keyspace(redis_server.client())
    records = _save_and_read(redis_server)
    assert {r.db for r in records} == {0, 3}
    _check_against_server(redis_server, records)


def test_memory_estimates_meet_the_target_against_memory_usage(
    redis_server: RedisServer,
) -> None:
    """Median error within ±3 % and p95 within ±10 % per type, streams included."""
    write_mixed_keyspace(redis_server.client())
    records = _save_and_read(redis_server)
    errors: dict[str, list[float]] = defaultdict(list)
    for rec in records:
        truth = redis_server.client(db=rec.db).memory_usage(rec.key, samples=0)
        assert truth
        errors[rec.type].append((rec.memory - truth) / truth)
    assert set(errors) == {"string", "list", "set", "zset", "hash", "stream"}
    for kind, errs in sorted(errors.items()):
        ordered = sorted(abs(e) for e in errs)
        median = statistics.median(errs)
        p95 = ordered[int(0.95 * (len(ordered) - 1))]
        print(f"{kind:7} keys={len(errs):4} median={median:+.4f} p95|err|={p95:.4f}")
        assert abs(median) <= 0.03, kind
        assert p95 <= 0.10, kind


def test_a_valkey_server_rdb_reads_to_the_same_keyspace(valkey_server: RedisServer) -> None:
    write_mixed_keyspace(valkey_server.client())
    records = _save_and_read(valkey_server)
    # Valkey 8 embeds the key in the object, so its embstr limit depends on the key's length.
    _check_against_server(valkey_server, records, string_encodings=False)


def test_a_compressed_list_and_large_listpacks_are_counted_exactly(tmp_path: Path) -> None:
    from tests.utils.servers import start_server

    server = start_server(
        tmp_path / "compressed",
        extra=[
            "--list-compress-depth",
            "1",
            "--hash-max-listpack-entries",
            "1000",
            "--zset-max-listpack-entries",
            "1000",
        ],
    )
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
