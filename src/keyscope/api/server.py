"""How ``keyscope serve`` runs the app: uvicorn with a deadline on every phase of a connection.

uvicorn bounds only the idle time between two requests of a connection
(``timeout_keep_alive``), and its ``limit_concurrency`` counts open connections, so idle
sockets alone could make it refuse every request. ``GuardedProtocol`` (uvicorn's httptools
protocol, extended) instead gives each connection:

- a header deadline: the request line and headers must be complete within
  ``header_timeout_s`` of the connection opening, or of the first byte of a later request on
  it; a socket that sends nothing, or a header line now and then, is closed (nginx's
  ``client_header_timeout``);
- a body timeout: while the app waits for the body, ``body_timeout_s`` without a byte closes
  the connection (nginx's ``client_body_timeout``); the route sees a disconnect. Time the app
  spends not reading does not count;
- a ceiling of ``max_connections`` open connections, past which a new one gets the DCS 503
  with ``Retry-After`` and is closed;
- a lingering close: when the server hangs up on a client still sending (a refusal before
  its body), it half-closes, discards what still arrives for ``LINGER_S`` and only then
  closes. Closing a socket with unread data sends a reset, and a reset makes the client's
  system drop the answer it had not read yet: the refusal would be lost (nginx's
  ``lingering_close``).

The requests in flight are bounded by ``admission.AdmissionMiddleware`` instead, inside the
app, where ``/healthz`` and ``/metrics`` pass by it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
from dataclasses import dataclass
from typing import Any, cast

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from keyscope.domain import codes

log = logging.getLogger(__name__)

BUSY_RETRY_AFTER_S = 1
"""``Retry-After`` of a 503: a request in flight takes milliseconds."""

LINGER_S = 2.0
"""How long a hung-up connection still reads and discards, so its answer is not reset."""


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    keep_alive_s: float = 5.0
    max_connections: int = 1000


def busy_response(message: str) -> bytes:
    """A whole HTTP/1.1 503 with the DCS error body, ``Retry-After`` and ``Connection: close``."""
    body = json.dumps(
        {"error_code": codes.SERVICE_BUSY, "error_msg": message, "error_ext_msg": None}
    ).encode()
    head = (
        "HTTP/1.1 503 Service Unavailable\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        f"retry-after: {BUSY_RETRY_AFTER_S}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


_TIMEOUT_408 = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


class _LingeringTransport:
    """A transport whose ``close`` half-closes, drains for ``LINGER_S``, then closes."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._closing = False

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        raw = self._transport
        if raw.is_closing() or not raw.can_write_eof():  # TLS cannot half-close
            raw.close()
            return
        raw.write_eof()  # after what is buffered: the answer goes out, then FIN
        raw.resume_reading()
        self._loop.call_later(LINGER_S, raw.close)

    def is_closing(self) -> bool:
        return self._closing or self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header deadline, a body timeout and a ceiling."""

    limits: ConnectionLimits = ConnectionLimits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._last_body_at = 0.0
        self._bytes_seen = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        transport = cast(asyncio.Transport, _LingeringTransport(transport, self.loop))
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            log.warning("refused a connection: %d open", len(self.connections) - 1)
            transport.write(busy_response("too many open connections; retry shortly"))
            transport.close()
            return
        self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.transport.is_closing():
            return  # lingering: read only to be discarded
        self._bytes_seen = True
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._header_timer is None:  # a later request on a kept-alive connection
            self._arm_header_deadline()

    def on_headers_complete(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        super().on_headers_complete()
        if self._announces_body():
            self._last_body_at = self.loop.time()
            self._body_timer = self.loop.call_later(self.limits.body_timeout_s, self._body_idle)

    def on_body(self, body: bytes) -> None:
        self._last_body_at = self.loop.time()
        super().on_body(body)

    def on_message_complete(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        super().on_message_complete()

    def _announces_body(self) -> bool:
        for name, value in self.headers:
            if name == b"content-length":
                return value.strip() not in (b"0", b"")
            if name == b"transfer-encoding":
                return True
        return False

    def _arm_header_deadline(self) -> None:
        self._header_timer = self.loop.call_later(
            self.limits.header_timeout_s, self._header_deadline_passed
        )

    def _header_deadline_passed(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        if self._bytes_seen:
            self.transport.write(_TIMEOUT_408)
        self.transport.close()

    def _body_idle(self) -> None:
        self._body_timer = None
        if self.transport.is_closing():
            return
        idle = self.loop.time() - self._last_body_at
        if self.flow.read_paused or idle < self.limits.body_timeout_s:
            # The app is not reading (its time does not count), or a byte came meanwhile.
            if self.flow.read_paused:
                self._last_body_at = self.loop.time()
            remaining = self.limits.body_timeout_s - (self.loop.time() - self._last_body_at)
            self._body_timer = self.loop.call_later(max(remaining, 0.05), self._body_idle)
            return
        self.transport.close()

    def _cancel_timers(self) -> None:
        for timer in (self._header_timer, self._body_timer):
            if timer is not None:
                timer.cancel()
        self._header_timer = self._body_timer = None


def guarded_protocol(limits: ConnectionLimits) -> type[GuardedProtocol]:
    """A ``GuardedProtocol`` class bound to ``limits`` (uvicorn instantiates the class)."""
    return type("BoundGuardedProtocol", (GuardedProtocol,), {"limits": limits})


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` exposes the service to this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve to anything


def uvicorn_config(
    app: Any,
    *,
    host: str,
    port: int,
    limits: ConnectionLimits,
    log_level: str = "info",
    tls_cert: str | None = None,
    tls_key: str | None = None,
) -> uvicorn.Config:
    """The uvicorn configuration ``keyscope serve`` runs with (and the tests that serve it)."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=guarded_protocol(limits),
        ws="none",
        lifespan="on",
        log_level=log_level,
        log_config=None,
        timeout_keep_alive=int(max(limits.keep_alive_s, 1)),
        limit_concurrency=None,  # admission.AdmissionMiddleware bounds requests, not sockets
        ssl_certfile=tls_cert,
        ssl_keyfile=tls_key,
    )
