"""What the reader finds in a server's RDB equals what that server reports for the keyspace.

The memory estimate is held to ``MEMORY USAGE key SAMPLES 0`` of the redis-server the
tests run (7.0, jemalloc): median error within ±3 % and p95 within ±10 % per type. Run
with ``-s`` to see the figures per type and per encoding.
"""

from __future__ import annotations

import random
import statistics
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from keyscope.domain.keys import KeyRecord
from keyscope.rdb import iter_records
from tests.utils.keyspaces import write_mixed_keyspace
from tests.utils.servers import RedisServer, start_server

pytestmark = pytest.mark.integration

_SIZE_COMMAND = {
    "string": "STRLEN",
    "list": "LLEN",
    "set": "SCARD",
    "zset": "ZCARD",
    "hash": "HLEN",
    "stream": "XLEN",
}

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
        _write_threshold_keyspace(server.client())
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
        assert client.execute_command(_SIZE_COMMAND[rec.type], rec.key) == rec.num_elements
        expiry = client.execute_command("PEXPIRETIME", rec.key)
        assert rec.expiry_ms == (None if expiry == -1 else expiry), rec.key
        if rec.type != "string" or string_encodings:
            assert client.object("encoding", rec.key).decode() == rec.encoding, rec.key
    total = sum(server.client(db=db).dbsize() for db in range(16))
    assert len(records) == total
    assert len({(r.db, r.key) for r in records}) == total


def _write_threshold_keyspace(client: redis.Redis) -> None:
    """Collections just past the conversions to tables, large list nodes, busy streams."""
    rnd = random.Random(3)

    def text(n: int) -> str:
        return "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(n))

    pipe = client.pipeline(transaction=False)
    for n in (200, 513, 600, 1500):
        pipe.hset(f"t:hash:short:{n}", mapping={f"f{i}": text(10) for i in range(n)})
        pipe.sadd(f"t:set:int:{n}", *rnd.sample(range(10**9), n))
        pipe.sadd(f"t:set:int64:{n}", *rnd.sample(range(2**40, 2**41), n))
        pipe.sadd(f"t:set:str:{n}", *{text(16) for _ in range(n)})
    for n in (100, 600):
        pipe.hset(f"t:hash:long:{n}", mapping={text(8): text(70) for _ in range(n)})
    for n in (129, 300, 1000):
        pipe.zadd(f"t:zset:{n}", {text(20): rnd.random() for _ in range(n)})
        pipe.zadd(f"t:zset:long:{n}", {text(70): rnd.random() for _ in range(n)})
    for n in (3, 40):
        pipe.rpush(f"t:list:wide:{n}", *[text(5000) for _ in range(n)])
    pipe.set("t:str:lzf", "ab" * 5000)
    pipe.set("t:str:rand", rnd.randbytes(30_000))
    for _ in range(2500):
        pipe.xadd("t:stream:groups", {"f": text(rnd.randint(1, 40))})
        pipe.xadd("t:stream:trimmed", {"f": text(rnd.randint(1, 40))})
    pipe.execute()
    client.xtrim("t:stream:trimmed", maxlen=700)
    first = [entry_id for entry_id, _ in client.xrange("t:stream:trimmed", count=300)]
    client.xdel("t:stream:trimmed", *first[::2])
    for g in range(3):
        client.xgroup_create("t:stream:groups", f"g{g}", id="0")
        for consumer in range(g + 2):
            client.xreadgroup(f"g{g}", f"c{consumer}", {"t:stream:groups": ">"}, count=150 * g + 1)


def _memory_errors(
    server: RedisServer, records: list[KeyRecord]
) -> dict[tuple[str, str], list[float]]:
    errors: dict[tuple[str, str], list[float]] = defaultdict(list)
    for rec in records:
        truth = server.client(db=rec.db).memory_usage(rec.key, samples=0)
        assert truth
        errors[(rec.type, rec.encoding)].append((rec.memory - truth) / truth)
    return errors


def _figures(errs: list[float]) -> tuple[float, float]:
    """Median signed error and the 95th percentile of the absolute error."""
    ordered = sorted(abs(e) for e in errs)
    return statistics.median(errs), ordered[int(0.95 * (len(ordered) - 1))]


def test_every_key_type_count_expiry_and_encoding_equal_what_redis_reports(
    saved_keyspace: tuple[RedisServer, list[KeyRecord]],
) -> None:
    server, records = saved_keyspace
    assert {r.db for r in records} == {0, 3}
    assert any(r.expiry_ms for r in records)
    _check_against_server(server, records)


def test_memory_estimates_meet_the_target_against_memory_usage(
    saved_keyspace: tuple[RedisServer, list[KeyRecord]],
) -> None:
    """Median error within ±3 % and p95 within ±10 % per type, streams included."""
    by_encoding = _memory_errors(*saved_keyspace)
    by_type: dict[str, list[float]] = defaultdict(list)
    for (kind, encoding), errs in sorted(by_encoding.items()):
        by_type[kind] += errs
        median, p95 = _figures(errs)
        print(f"  {kind:7}{encoding:10} keys={len(errs):4} median={median:+.4f} p95|err|={p95:.4f}")
    assert set(by_type) == {"string", "list", "set", "zset", "hash", "stream"}
    for kind, errs in sorted(by_type.items()):
        median, p95 = _figures(errs)
        print(f"{kind:17} keys={len(errs):4} median={median:+.4f} p95|err|={p95:.4f}")
        assert abs(median) <= 0.03, kind
        assert p95 <= 0.10, kind


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


def test_a_valkey_server_rdb_reads_to_the_same_keyspace(valkey_server: RedisServer) -> None:
    write_mixed_keyspace(valkey_server.client())
    _write_threshold_keyspace(valkey_server.client())
    records = _save_and_read(valkey_server)
    # Valkey 8 embeds the key in the object, so its embstr limit depends on the key's length.
    _check_against_server(valkey_server, records, string_encodings=False)
