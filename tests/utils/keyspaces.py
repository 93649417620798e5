"""Keyspaces that cover every type and encoding, written into a real server by tests."""

from __future__ import annotations

import random

import redis

SIZE_COMMANDS = {
    "string": "STRLEN",
    "list": "LLEN",
    "set": "SCARD",
    "zset": "ZCARD",
    "hash": "HLEN",
    "stream": "XLEN",
}
"""The command that tells a key's size (bytes for strings, elements otherwise), per type."""

_ALNUM = bytes(b"abcdefghijklmnopqrstuvwxyz0123456789"[i % 36] for i in range(256))
_LETTERS = bytes(b"abcdefghijklmnopqrstuvwxyz"[i % 26] for i in range(256))
"""Byte tables that turn random bytes into text fast (a keyspace is written per engine)."""


def write_mixed_keyspace(client: redis.Redis, *, seed: int = 7, scale: int = 1) -> None:
    """Small and large collections of each type, int/embstr/raw strings, TTLs, two dbs."""
    rnd = random.Random(seed)
    pipe = client.pipeline(transaction=False)

    def text(n: int) -> str:
        return rnd.randbytes(n).translate(_ALNUM).decode()

    for i in range(200 * scale):
        pipe.set(f"str:int:{i}", rnd.randint(-(10**12), 10**12))
        pipe.set(f"str:emb:{i}", text(rnd.randint(1, 44)))
        pipe.set(f"str:raw:{i}", text(rnd.randint(45, 3000)))
    for i in range(5):
        pipe.set(f"str:big:{i}", "x" * (20_000 * (i + 1)))
        pipe.set(f"str:rand:{i}", rnd.randbytes(40_000 + i))
    for i in range(60 * scale):
        n = rnd.choice([3, 10, 100, 300, 2000])
        width = rnd.choice([4, 20, 80])
        pipe.rpush(f"list:{i}", *[text(width) for _ in range(n)])
        pipe.sadd(f"set:str:{i}", *[text(width) for _ in range(n)])
        pipe.sadd(f"set:int:{i}", *rnd.sample(range(10**9), min(n, 600)))
        pipe.zadd(f"zset:{i}", {text(width): rnd.random() * 1000 for _ in range(n)})
        pipe.hset(f"hash:{i}", mapping={text(12): text(width) for _ in range(n)})
    for i in range(20 * scale):
        key = f"stream:{i}"
        for _ in range(rnd.choice([1, 5, 150, 400])):
            pipe.xadd(key, {"field": text(10), "n": rnd.randint(0, 1000)})
    for i in range(100 * scale):
        pipe.set(f"ttl:{i}", text(10), px=rnd.randint(3_600_000, 90_000_000))
    pipe.execute()
    for i in range(5):
        client.xgroup_create(f"stream:{i}", "g1", id="0")
        client.xreadgroup("g1", "alice", {f"stream:{i}": ">"}, count=3)
    kwargs = client.connection_pool.connection_kwargs
    db3 = redis.Redis(
        host=kwargs["host"], port=kwargs["port"], password=kwargs.get("password"), db=3
    )
    db3.mset({f"db3:{i}": text(30) for i in range(50)})
    db3.close()


def write_threshold_keyspace(client: redis.Redis) -> None:
    """Collections just past the conversions to tables, large list nodes, busy streams."""
    rnd = random.Random(3)

    def text(n: int) -> str:
        return rnd.randbytes(n).translate(_LETTERS).decode()

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


def write_field_ttl_keyspace(client: redis.Redis, *, seed: int = 5) -> None:
    """Hashes with per-field TTLs (Redis 7.4+): listpackex and hashtable, half the fields timed."""
    rnd = random.Random(seed)
    for i in range(40):
        n = rnd.choice([3, 10, 100, 600])
        key = f"hfe:{i}"
        client.hset(key, mapping={f"f{j}": "v" * rnd.randint(1, 30) for j in range(n)})
        fields = [f"f{j}" for j in range(0, n, 2)]
        client.execute_command("HPEXPIRE", key, 86_400_000 + i, "FIELDS", len(fields), *fields)


def write_module_keyspace(client: redis.Redis) -> dict[str, str]:
    """One key of each Redis Stack module type; returns key -> the module type TYPE names."""
    client.execute_command("JSON.SET", "mod:json", "$", '{"a": [1, 2, 3], "b": "hello"}')
    client.execute_command("TS.CREATE", "mod:ts")
    for t in range(1, 200):
        client.execute_command("TS.ADD", "mod:ts", t * 1000, t * 0.5)
    client.execute_command("BF.ADD", "mod:bloom", "x")
    client.execute_command("CF.ADD", "mod:cuckoo", "x")
    client.execute_command("FT.CREATE", "idx", "ON", "HASH", "PREFIX", "1", "doc:",
                           "SCHEMA", "title", "TEXT")  # fmt: skip
    client.hset("doc:1", mapping={"title": "hello world"})
    return {k: client.type(k).decode() for k in ("mod:json", "mod:ts", "mod:bloom", "mod:cuckoo")}
