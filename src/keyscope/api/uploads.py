"""A request body streamed to a private file, a chunk at a time: never held in memory.

The size cap is enforced while it streams (``limits.BodySizeLimitMiddleware`` raises from
``receive`` past it), and a body whose declared SHA-256 turns out wrong raises at its end
(``gate.BodyDigestMismatch``); either way the caller removes the partial file.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi.concurrency import run_in_threadpool

WRITE_BATCH_BYTES = 1024 * 1024
"""Bytes gathered before one write in a worker thread (a thread hop per 64 KiB chunk would
cost more than the write)."""


async def save_stream(chunks: AsyncIterator[bytes], path: Path) -> int:
    """Write every chunk to a new file at ``path`` (0600, must not exist); the bytes written."""
    fd = await run_in_threadpool(os.open, path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    written = 0
    pending: list[bytes] = []
    pending_size = 0
    try:
        async for chunk in chunks:
            pending.append(chunk)
            pending_size += len(chunk)
            if pending_size >= WRITE_BATCH_BYTES:
                await run_in_threadpool(_write_all, fd, b"".join(pending))
                written += pending_size
                pending, pending_size = [], 0
        if pending:
            await run_in_threadpool(_write_all, fd, b"".join(pending))
            written += pending_size
    finally:
        os.close(fd)
    return written


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
