"""Keyspaces that cover every type and encoding, written into a real server by tests."""

from __future__ import annotations

import random

import redis


def write_mixed_keyspace(client: redis.Redis, *, seed: int = 7, scale: int = 1) -> None:
    """Small and large collections of each type, int/embstr/raw strings, TTLs, two dbs."""
    rnd = random.Random(seed)
    pipe = client.pipeline(transaction=False)

    def text(n: int) -> str:
        return "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(n))

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
