"""The engine with the server's own hot-key tracking, and traffic sent while it tracks."""

from __future__ import annotations

import concurrent.futures
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
import redis

HOTKEYS_ENGINE = "redis-unstable-20260625"
"""Redis unstable of 2026-06-25: HOTKEYS START/GET/STOP/RESET (src/hotkeys.c)."""

BIN = Path(__file__).resolve().parents[2].parent / "shared" / "engines" / HOTKEYS_ENGINE / "bin"

T = TypeVar("T")


def engine_binary(name: str = "redis-server") -> str:
    """A binary of the HOTKEYS engine, or a skip naming what is missing."""
    path = BIN / name
    if not os.access(path, os.X_OK):
        pytest.skip(f"engine {HOTKEYS_ENGINE} is not available: no executable {path}")
    return str(path)


def tracking_active(client: redis.Redis) -> bool:
    """INFO hotkeys says a tracking session is on (INFO names no key: it is not tracked)."""
    return str(client.info("hotkeys").get("hotkeys-tracking-active", 0)) == "1"


def tracking_left(client: redis.Redis) -> object:
    """What HOTKEYS GET answers: None once every session is stopped and reset."""
    return client.execute_command("HOTKEYS", "GET")


def wait_until(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(0.02)


def during_window(
    client: redis.Redis, run: Callable[[], T], traffic: Callable[[], object], timeout: float = 60
) -> T:
    """Start ``run`` in a thread, send ``traffic`` once the server tracks, return run's result."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        future = pool.submit(run)
        wait_until(lambda: tracking_active(client) or future.done(), "tracking", timeout)
        if not future.done():
            traffic()
            # a result without some of the traffic would say nothing about keyscope
            assert tracking_active(client), "the traffic outlasted the tracking window"
        return future.result(timeout=timeout)
