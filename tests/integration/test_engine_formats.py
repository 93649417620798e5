"""Files written by real engines read with what the live server reports, on both readers.

Each engine of ``tests/utils/engines.py`` that is present writes a keyspace of every type
and encoding it has (Redis 8.8 unstable: arrays, vector sets, streams with idempotent
producers and a NACK zone, hashes with field TTLs; Redis 7.4 and Valkey 9: field TTLs;
every engine: streams with consumer groups and pending entries, TTLs), saves it, and the
file's records must match the server key for key: type (a module key: its module's type
name), element count and expiry, with the pure and the compiled reader agreeing. An engine
that is absent skips by name.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from keyscope.domain.keys import KeyRecord
from keyscope.rdb import FAST_PATH_AVAILABLE, FastRdbReader, PureRdbReader
from tests.utils import engines
from tests.utils.servers import RedisServer

pytestmark = pytest.mark.integration

ENGINES = [
    "redis-unstable-20260625",
    "redis-7.4.1",
    "redis-7.2.6",
    "redis-7.0",
    "valkey-unstable-20250127",
    "valkey-8.1-libc",
    "valkey-8.0.1",
    "valkey-9.1-libc",
]
"""Engines with PEXPIRETIME (7.0+), which the check of each key's expiry uses."""

COUNT_COMMAND = {
    "string": "STRLEN",
    "list": "LLEN",
    "set": "SCARD",
    "zset": "ZCARD",
    "hash": "HLEN",
    "stream": "XLEN",
    "array": "ARCOUNT",
    "vectorset": "VCARD",
}
FIELD_TTL_SECONDS = 86_400
T_MODULE_2, T_HASH_METADATA, T_HASH_LISTPACK_EX, T_STREAM_5, T_ARRAY = 7, 24, 25, 27, 28
"""RDB type bytes (redis ``src/rdb.h``) the unstable engine's file must hold."""
T_VALKEY_HASH_2 = 22
"""The type byte (valkey ``src/rdb.h``, RDB_TYPE_HASH_2) of a Valkey 9 hash whose fields expire."""


def _start(name: str, workdir: Path) -> RedisServer:
    """Engine ``name`` started on a free port (skips, naming it, when it is absent)."""
    return engines.start_engine(name, workdir)


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RedisServer]:
    server = _start(request.param, tmp_path / request.param)
    try:
        yield server
    finally:
        server.stop()


def _commands(server: RedisServer) -> set[str]:
    client = server.client(decode_responses=True)
    client.response_callbacks.pop("COMMAND", None)  # the raw reply of COMMAND LIST
    return {name.lower() for name in client.execute_command("COMMAND", "LIST")}


def _write_core_types(client: redis.Redis) -> None:
    pipe = client.pipeline(transaction=False)
    pipe.set("str:int", 123456)
    pipe.set("str:embstr", "hello")
    pipe.set("str:raw", "x" * 300)
    pipe.set("str:big", os.urandom(40_000).hex())
    pipe.set("str:ttl", "soon", px=3_600_000)
    pipe.rpush("list:small", *range(5))
    pipe.rpush("list:big", *[f"item-{i}-{'y' * (i % 40)}" for i in range(3000)])
    pipe.sadd("set:intset", *range(20))
    pipe.sadd("set:listpack", "a", "b", "c")
    pipe.sadd("set:hashtable", *[f"member-{i}" for i in range(600)])
    pipe.zadd("zset:listpack", {"a": 1, "b": 2})
    pipe.zadd("zset:skiplist", {f"m{i}": i for i in range(400)})
    pipe.hset("hash:listpack", mapping={"f1": "v1", "f2": "v2"})
    pipe.hset("hash:hashtable", mapping={f"field{i}": f"value{i}" for i in range(700)})
    pipe.expire("hash:hashtable", 7_200)
    pipe.execute()
    for n in range(40):
        client.xadd("stream:grouped", {"n": n, "payload": "p" * (n % 9)})
    client.xgroup_create("stream:grouped", "group", id="0")
    client.xreadgroup("group", "alice", {"stream:grouped": ">"}, count=5)
    client.xreadgroup("group", "bob", {"stream:grouped": ">"}, count=3)


def _write_new_types(client: redis.Redis, commands: set[str]) -> None:
    """What the engine has beyond the core types: field TTLs, arrays, vectors, stream IDMP."""
    if "hexpire" in commands:
        client.hset("hash:ttl:listpack", mapping={"a": "1", "b": "2", "c": "3"})
        client.execute_command("HEXPIRE", "hash:ttl:listpack", FIELD_TTL_SECONDS, "FIELDS", 1, "a")
        client.hset("hash:ttl:table", mapping={f"f{i}": "v" * 80 for i in range(300)})
        client.execute_command(
            "HEXPIRE", "hash:ttl:table", FIELD_TTL_SECONDS, "FIELDS", 2, "f1", "f2"
        )
    if "arset" in commands:
        client.execute_command("ARSET", "array:mixed", 0, "a string value")
        client.execute_command("ARSET", "array:mixed", 7, 42)
        client.execute_command("ARSET", "array:mixed", 1000, 3.25)
        client.execute_command("ARSET", "array:mixed", 100_000, "x" * 200)
        client.execute_command("ARSET", "array:one", 3, "only")
        client.pexpire("array:one", 5_000_000)
    if "vadd" in commands:
        for i in range(12):
            client.execute_command("VADD", "vset", "VALUES", 3, i * 0.1, 1 - i * 0.05, 0.5, f"e{i}")
    if "xnack" in commands:
        for i in range(6):
            client.execute_command(
                "XADD", "stream:idmp", "IDMP", "producer", f"iid{i}", "*", "i", i
            )
        client.execute_command("XADD", "stream:idmp", "IDMPAUTO", "other", "*", "auto", 1)
        client.xgroup_create("stream:idmp", "g", id="0")
        claimed = client.xreadgroup("g", "c", {"stream:idmp": ">"}, count=3)
        first_id = claimed[0][1][0][0]
        client.execute_command("XNACK", "stream:idmp", "g", "SILENT", "IDS", 1, first_id)


def _saved_records(server: RedisServer) -> list[KeyRecord]:
    server.client().save()
    path = server.workdir / "dump.rdb"
    records = list(PureRdbReader(path))
    if FAST_PATH_AVAILABLE:
        assert list(FastRdbReader(path)) == records
    return records


def _server_type(client: redis.Redis, key: bytes) -> str:
    return str(client.type(key).decode())


def _check_record(client: redis.Redis, rec: KeyRecord, pexpiretime: Callable[[bytes], int]) -> None:
    kind = _server_type(client, rec.key)
    if rec.type == "module":
        assert rec.encoding == kind, rec.key  # the module's type name, as TYPE reports it
    else:
        assert rec.type == kind, rec.key
    command = COUNT_COMMAND.get(kind)
    if command is not None:
        assert rec.num_elements == int(client.execute_command(command, rec.key)), rec.key
    expiry = pexpiretime(rec.key)
    assert rec.expiry_ms == (None if expiry < 0 else expiry), rec.key


def test_a_saved_keyspace_of_every_type_reads_as_the_server_reports_it(
    engine: RedisServer,
) -> None:
    client = engine.client()
    commands = _commands(engine)
    _write_core_types(client)
    _write_new_types(client, commands)
    records = _saved_records(engine)

    assert sorted(r.key for r in records) == sorted(client.keys("*"))
    for rec in records:
        _check_record(client, rec, lambda key: int(client.execute_command("PEXPIRETIME", key)))
    version = engine.workdir.joinpath("dump.rdb").read_bytes()[:9]
    if "arset" in commands:  # the 2026-06 unstable tree: RDB 14 with the newest types
        assert version == b"REDIS0014"
        assert {r.encoding for r in records if r.type == "module"} == {"vectorset"}
        # DUMP starts with the RDB type byte: the file held each of the newest types
        types = {client.dump(r.key)[0] for r in records}
        assert types >= {T_MODULE_2, T_HASH_METADATA, T_HASH_LISTPACK_EX, T_STREAM_5, T_ARRAY}
    if engine.binaries.name == "valkey-9.1-libc":  # Valkey 9: the VALKEY magic, RDB 80
        assert version == b"VALKEY080"
        assert {client.dump(r.key)[0] for r in records if r.key.startswith(b"hash:ttl")} == {
            T_VALKEY_HASH_2
        }


STACK_MODULE_KEYS = {
    "ReJSON-RL": ("JSON.SET", "json", "$", '{"a": [1, 2, 3], "b": "text"}'),
    "TSDB-TYPE": ("TS.ADD", "series", 1000, 1.5),
    "MBbloom--": ("BF.ADD", "bloom", "member"),
    "MBbloomCF": ("CF.ADD", "cuckoo", "member"),
    "CMSk-TYPE": ("CMS.INITBYDIM", "sketch", 10, 5),
    "TopK-TYPE": ("TOPK.RESERVE", "topk", 5),
    "TDIS-TYPE": ("TDIGEST.CREATE", "digest"),
}


def test_module_keys_of_redis_stack_read_as_module_with_their_modules_name(
    tmp_path: Path,
) -> None:
    server = _start("redis-stack-7.4", tmp_path)
    try:
        client = server.client()
        for command in STACK_MODULE_KEYS.values():
            client.execute_command(*command)
        client.execute_command("FT.CREATE", "idx", "ON", "HASH", "SCHEMA", "t", "TEXT")
        records = _saved_records(server)
        modules = {r.encoding: r for r in records if r.type == "module"}
        assert sorted(modules) == sorted(STACK_MODULE_KEYS)
        for name, (_, key, *_args) in STACK_MODULE_KEYS.items():
            assert modules[name].key == key.encode()
            assert _server_type(client, modules[name].key) == name
            # the value as DUMP serializes it, less its type byte, RDB version and CRC-64
            assert modules[name].serialized_size == len(client.dump(key)) - 11
    finally:
        server.stop()
