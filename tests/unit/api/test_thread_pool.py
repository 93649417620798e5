"""Requests never wait for a worker thread while holding a database connection."""

from __future__ import annotations

import anyio
import anyio.to_thread

from keyscope.api.app import size_thread_pool


def test_worker_threads_outnumber_the_requests_in_flight() -> None:
    async def tokens_after_sizing(max_requests: int) -> float:
        size_thread_pool(max_requests)
        return anyio.to_thread.current_default_thread_limiter().total_tokens

    assert anyio.run(tokens_after_sizing, 100) > 100
    assert anyio.run(tokens_after_sizing, 1000) > 1000


def test_sizing_never_shrinks_the_pool() -> None:
    async def tokens_after_sizing(max_requests: int) -> float:
        before = anyio.to_thread.current_default_thread_limiter().total_tokens
        size_thread_pool(max_requests)
        return anyio.to_thread.current_default_thread_limiter().total_tokens - before

    assert anyio.run(tokens_after_sizing, 1) >= 0
