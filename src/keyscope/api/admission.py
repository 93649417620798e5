"""ASGI middleware that bounds the requests in flight: a short wait for a slot, then 503.

``max_in_flight`` requests run at once (the worker-thread pool is sized above it, see
``app.size_thread_pool``); up to ``max_waiting`` more wait at most ``wait_s`` for a slot, so
a burst of genuine clients is served in turn instead of refused. Past that a request gets
the DCS 503 (``DCS.5030``) with ``Retry-After``. ``/healthz`` and ``/metrics`` pass by the
bound, so a probe sees the truth while the service is busy. Idle or slow sockets hold no
slot: a request reaches this only once its headers are complete (``server.GuardedProtocol``)
and it is authenticated (``gate.SignatureGate``, which reads a signed JSON body first).
"""

from __future__ import annotations

import asyncio
import json

from starlette.types import ASGIApp, Receive, Scope, Send

from keyscope.api.server import BUSY_RETRY_AFTER_S
from keyscope.domain import codes

EXEMPT_PATHS = frozenset({"/healthz", "/metrics"})
"""Paths never held back: the probes must answer while every slot is taken."""


class AdmissionMiddleware:
    def __init__(
        self, app: ASGIApp, *, max_in_flight: int, max_waiting: int, wait_s: float
    ) -> None:
        self.app = app
        self.max_in_flight = max_in_flight
        self.max_waiting = max_waiting
        self.wait_s = wait_s
        self._slots: asyncio.Semaphore | None = None
        self._waiting = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_in_flight)
        if not await self._admit(self._slots):
            await _refuse(send, self.max_in_flight)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._slots.release()

    async def _admit(self, slots: asyncio.Semaphore) -> bool:
        if not slots.locked():
            await slots.acquire()
            return True
        if self._waiting >= self.max_waiting or self.wait_s <= 0:
            return False
        self._waiting += 1
        try:
            await asyncio.wait_for(slots.acquire(), self.wait_s)
            return True
        except TimeoutError:
            return False
        finally:
            self._waiting -= 1


async def _refuse(send: Send, max_in_flight: int) -> None:
    body = json.dumps(
        {"error_code": codes.SERVICE_BUSY,
         "error_msg": f"the service is busy ({max_in_flight} requests in flight); retry shortly",
         "error_ext_msg": None}
    ).encode()  # fmt: skip
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(BUSY_RETRY_AFTER_S).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
