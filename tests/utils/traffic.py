"""Traffic a test sends to real servers so that some keys are hot and the rest are not.

The read counts are far enough apart that the LFU counters they give never overlap
(Redis' LFULogIncr at lfu-log-factor 10: 30,000 reads land between ~60 and ~100, 5,000
between ~27 and ~48, 800 between ~12 and ~26), and the least of them stays clear of the
default floor (counter 10, what 100 reads reach on average). Barely touched keys are read
``WARM_READS`` times: a counter rises by at most one per access, so theirs stays at or
below 5 + 3 = 8, under the floor whatever the dice say. Cold keys are written once (5).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import redis

HOT_READS = {"hot:first": 30_000, "hot:second": 5_000, "hot:third": 800}
"""Planted hot keys and their reads, hottest first."""

WARM_READS = 3


def read_many(client: redis.Redis, name: str, times: int, *, chunk: int = 5_000) -> None:
    """``times`` GETs of ``name``, pipelined."""
    left = times
    while left > 0:
        pipe = client.pipeline(transaction=False)
        for _ in range(min(chunk, left)):
            pipe.get(name)
        pipe.execute()
        left -= chunk


def write_cold(client: redis.Redis, names: Iterable[str]) -> None:
    """Each name written once with a small value, never read."""
    pipe = client.pipeline(transaction=False)
    for name in names:
        pipe.set(name, "v")
    pipe.execute()


def plant(
    writer: Callable[[str], redis.Redis],
    reader: Callable[[str], redis.Redis],
    *,
    hot: Mapping[str, int] = HOT_READS,
    cold: int = 500,
    warm: int = 20,
) -> list[str]:
    """Hot keys read their counts, warm keys ``WARM_READS`` times, cold keys never.

    ``writer(name)`` / ``reader(name)`` give the client that writes / reads a key (a master,
    a replica, a cluster node); make them hand out clients made once (a redis.Redis costs
    ~10 ms to build, which would stretch the traffic past a tracking window). Returns the hot
    key names, hottest first.
    """
    pipes: dict[tuple[Any, Any], Any] = {}  # one pipeline per server the writes go to

    def write(name: str, value: str) -> None:
        client = writer(name)
        where = client.connection_pool.connection_kwargs
        server = (where.get("host"), where.get("port"))
        if server not in pipes:
            pipes[server] = client.pipeline(transaction=False)
        pipes[server].set(name, value)

    for i in range(cold):
        write(f"cold:{i}", "v")
    for name in hot:
        write(name, "x" * 32)
    for i in range(warm):
        write(f"warm:{i}", "w")
    for pipe in pipes.values():
        pipe.execute()
    _wait_replicated(writer)
    for i in range(warm):
        read_many(reader(f"warm:{i}"), f"warm:{i}", WARM_READS)
    for name, times in hot.items():
        read_many(reader(name), name, times)
    return list(hot)


def _wait_replicated(writer: Callable[[str], redis.Redis]) -> None:
    """Replicas have every write before reads go to them (no-op without replicas)."""
    client = writer("cold:0")
    replicas = int(client.info("replication").get("connected_slaves", 0))
    if replicas:
        assert client.execute_command("WAIT", replicas, 5000) == replicas
