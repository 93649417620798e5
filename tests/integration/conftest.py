"""Servers of the engine that has ``HOTKEYS`` (Redis 8.6+: the shared unstable build).

Skipped, naming the engine, where ``../shared/engines`` is not beside the checkout.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.utils.hotkeys_engine import engine_binary
from tests.utils.servers import RedisServer, start_server


def _start(tmp_path: Path, policy: str) -> Iterator[RedisServer]:
    server = start_server(
        tmp_path / f"hotkeys-{policy}",
        extra=["--maxmemory-policy", policy],
        binary=engine_binary(),
    )
    yield server
    server.stop()


@pytest.fixture
def hotkeys_lru_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A standalone server with HOTKEYS and an LRU policy: no LFU counters at all."""
    yield from _start(tmp_path, "allkeys-lru")


@pytest.fixture
def hotkeys_lfu_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A standalone server with HOTKEYS and an LFU policy: both measurements."""
    yield from _start(tmp_path, "allkeys-lfu")
