"""Keyspaces for the scale-out suite: every analysis kind finds something in them."""

from __future__ import annotations

import time
from pathlib import Path

from tests.utils.servers import RedisServer, start_server

LFU_FLAGS = ["--maxmemory-policy", "allkeys-lfu", "--lfu-decay-time", "0", "--lfu-log-factor", "0"]
"""LFU for hot keys, made deterministic: every access adds one, nothing decays, so two servers
given the same commands hold the same counters."""


def seed(server: RedisServer, index: int, *, plain: int = 1500) -> None:
    """Big strings and collections, hot keys, plain keys, all different per ``index``.

    With ``plain`` under the analyses' top-N sizes, every top-N list holds the whole keyspace,
    so no tie at the cut depends on the server's hash-table order.
    """
    r = server.client()
    r.flushall()
    pipe = r.pipeline(transaction=False)
    for i in range(plain):
        pipe.set(f"plain:{index}:{i}", "v" * (i % 50))
    for i in range(3 + index):
        pipe.set(f"big:{index}:{i}", "x" * (12_000 + i))
    pipe.rpush(f"list:{index}", *range(6000 + index))
    pipe.hset(f"hash:{index}", mapping={f"f{i}": i for i in range(300)})
    pipe.execute()
    for i in range(5):
        for _ in range(20 * (i + 1)):
            r.get(f"plain:{index}:{i}")


def seed_expired(server: RedisServer, count: int) -> None:
    """``count`` keys whose TTL has passed but that only a scan reclaims."""
    r = server.client()
    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    for i in range(count):
        r.set(f"gone:{i}", "v", px=1)
    time.sleep(0.05)


def start_seeded(workdir: Path, index: int, *, plain: int = 1500) -> RedisServer:
    server = start_server(workdir, extra=LFU_FLAGS)
    seed(server, index, plain=plain)
    return server
