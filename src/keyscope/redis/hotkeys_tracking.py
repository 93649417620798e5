"""One bounded window of the server's own hot-key tracking (``HOTKEYS``, Redis 8.6+) per node.

The command, as redis ``src/hotkeys.c`` (hotkeysCommand) implements it:

- ``HOTKEYS START METRICS <n> [CPU] [NET] [COUNT k] [DURATION s] [SAMPLE r] [SLOTS n slot…]``
  starts one server-wide session (refused while one is active); COUNT is 1-64 (default 10),
  DURATION 1-1000000 s (default 0: until stopped), the server's cron stops it when due.
- ``HOTKEYS GET``: nil without a session, else a one-element array holding a map (a flat
  list on RESP2): ``tracking-active``, ``all-commands-all-slots-us`` and
  ``net-bytes-all-commands-all-slots`` (CPU µs and bytes of every command with keys),
  ``collection-start-time-unix-ms``, ``collection-duration-ms``, …, and ``by-cpu-time-us`` /
  ``by-net-bytes``, flat ``key, value, …`` lists, largest first.
- ``HOTKEYS STOP`` (nil when none is active) keeps the results; ``HOTKEYS RESET`` frees them and
  is refused while a session is active.

How a window runs here, so that tracking never outlives it:

1. Leftovers: a stopped session (a run killed before its reset, or anyone's) is reset; an
   active one is waited for while it could still be a window keyscope started (those end
   within ``window max + grace``), and refused as someone else's beyond.
2. START on every node with ``DURATION = window + grace``: if keyscope dies mid-window, the
   server stops the tracking itself, and the next run's step 1 resets it.
3. The window passes (the caller's cancellation checked, progress ticked as a heartbeat).
4. ``MULTI / STOP / GET / RESET / EXEC`` on each node: read and freed in one step, so no other
   client's run can reset the figures before they are read.
5. On any error or cancellation, STOP and RESET wherever step 2 succeeded.

keyscope sends no command with keys to a node while it tracks, so its own probes never count.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import hiredis

from keyscope import defaults
from keyscope.domain.errors import KeyscopeError, NodeError, TaskCancelled
from keyscope.domain.scan import Cancellation, Progress
from keyscope.domain.topology import Node
from keyscope.redis.auth import Auth
from keyscope.redis.connection import Endpoint, RawConnection, open_connection, pack

POLL_S = 0.2
"""How often a wait looks at the clock, the cancellation and the leftover session."""


@dataclass(frozen=True, slots=True)
class NodeTracking:
    """What one node measured in the window."""

    node: Node
    cpu_us: dict[bytes, int]
    net_bytes: dict[bytes, int]
    cpu_total_us: int
    """CPU µs of every command with keys on the node in the window."""
    net_total_bytes: int
    duration_ms: int


@dataclass(frozen=True, slots=True)
class _Session:
    active: bool
    started_ms: int
    elapsed_ms: int


def _fields(reply: Any) -> dict[str, Any] | None:
    """GET's reply as ``{field: value}``; None when there is no session."""
    if reply is None:
        return None
    if not isinstance(reply, list) or len(reply) != 1:
        raise NodeError(f"HOTKEYS GET: unexpected reply {str(reply)[:80]}")
    body = reply[0]
    if isinstance(body, dict):
        items = list(body.items())
    elif isinstance(body, list):
        items = list(zip(body[::2], body[1::2], strict=True))
    else:
        raise NodeError(f"HOTKEYS GET: unexpected reply {str(body)[:80]}")
    return {(k.decode() if isinstance(k, bytes) else str(k)): v for k, v in items}


def _pairs(value: Any) -> dict[bytes, int]:
    if not isinstance(value, list):
        return {}
    return {k: int(v) for k, v in zip(value[::2], value[1::2], strict=True)}


def parse_tracking(node: Node, reply: Any) -> NodeTracking | None:
    """A node's figures from its ``HOTKEYS GET`` reply (None without a session)."""
    fields = _fields(reply)
    if fields is None:
        return None
    return NodeTracking(
        node,
        _pairs(fields.get("by-cpu-time-us")),
        _pairs(fields.get("by-net-bytes")),
        int(fields.get("all-commands-all-slots-us", 0)),
        int(fields.get("net-bytes-all-commands-all-slots", 0)),
        int(fields.get("collection-duration-ms", 0)),
    )


def _session(reply: Any) -> _Session | None:
    fields = _fields(reply)
    if fields is None:
        return None
    return _Session(
        bool(int(fields.get("tracking-active", 0))),
        int(fields.get("collection-start-time-unix-ms", 0)),
        int(fields.get("collection-duration-ms", 0)),
    )


def _exec(conn: RawConnection, *commands: tuple[str, ...]) -> list[Any]:
    """``commands`` in one MULTI/EXEC; the replies, or NodeError naming the refusal."""
    conn.send(pack("MULTI") + b"".join(pack(*c) for c in commands) + pack("EXEC"))
    replies = conn.read(len(commands) + 2)
    result = replies[-1]
    refused = [r for r in (result if isinstance(result, list) else replies)
               if isinstance(r, hiredis.ReplyError)]  # fmt: skip
    if refused or not isinstance(result, list):
        raise NodeError(f"HOTKEYS refused: {refused[0] if refused else result!r}",
                        node=conn.endpoint.address)  # fmt: skip
    return result


class _Waiter:
    """Sleeps in short steps; raises TaskCancelled when the task is deleted."""

    def __init__(self, cancel: Cancellation | None, progress: Progress | None) -> None:
        self._event = cancel.event if cancel is not None else threading.Event()
        self._progress = progress

    def check(self) -> None:
        if self._event.is_set():
            raise TaskCancelled("the task was deleted while it ran")

    def pause(self, seconds: float) -> None:
        self.check()
        if self._progress is not None:
            self._progress(0, None)  # a heartbeat: the window shows no keys, only time
        self._event.wait(max(0.0, seconds))
        self.check()


class TrackingWindow:
    """Runs one window on a set of nodes; see the module docstring for the steps."""

    def __init__(
        self,
        nodes: Sequence[Node],
        auth: Auth,
        *,
        window_s: int,
        timeout: float = defaults.SOCKET_TIMEOUT_S,
        cancel: Cancellation | None = None,
        progress: Progress | None = None,
        clock: Callable[[], float] = time.monotonic,
        foreign_after_s: float = defaults.HOTKEYS_WINDOW_MAX_S + defaults.HOTKEYS_DURATION_GRACE_S,
    ) -> None:
        self.nodes = list(nodes)
        self.auth = auth
        self.window_s = max(1, min(int(window_s), defaults.HOTKEYS_WINDOW_MAX_S))
        self.timeout = timeout
        self._wait = _Waiter(cancel, progress)
        self._clock = clock
        self._started: list[Node] = []
        self._foreign_after_ms = int(foreign_after_s * 1000)
        """An active session older than this cannot be a window of keyscope's: it is refused."""

    def _connect(self, node: Node) -> RawConnection:
        return open_connection(
            Endpoint(node.host, node.port, self.auth),
            connect_timeout=self.timeout,
            socket_timeout=self.timeout,
        )

    def run(self) -> list[NodeTracking]:
        """Track every node for the window; tracking is off and reset on return or raise."""
        try:
            for node in self.nodes:
                self._start(node)
            deadline = self._clock() + self.window_s
            while (left := deadline - self._clock()) > 0:
                self._wait.pause(min(POLL_S * 5, left))
            return [self._finish(node) for node in list(self._started)]
        finally:
            self._clean_up()

    def _start(self, node: Node) -> None:
        conn = self._connect(node)
        try:
            self._clear_leftover(conn, node)
            duration = self.window_s + defaults.HOTKEYS_DURATION_GRACE_S
            reply = conn.command(
                "HOTKEYS", "START", "METRICS", 2, "CPU", "NET",
                "COUNT", defaults.HOTKEYS_TOP_K, "DURATION", duration,
            )  # fmt: skip
            if reply != b"OK":
                raise NodeError(f"HOTKEYS START answered {reply!r}", node=node.address)
            self._started.append(node)
        finally:
            conn.close()

    def _clear_leftover(self, conn: RawConnection, node: Node) -> None:
        """Reset a stopped session; wait for an active one while it may still be keyscope's."""
        while True:
            session = _session(conn.command("HOTKEYS", "GET"))
            if session is None:
                return
            if not session.active:
                conn.command("HOTKEYS", "RESET")
                return
            if session.elapsed_ms >= self._foreign_after_ms:
                raise NodeError(
                    "a HOTKEYS tracking session keyscope did not start has been running for "
                    f"{session.elapsed_ms // 1000} s; end it with HOTKEYS STOP and HOTKEYS RESET",
                    node=node.address,
                )
            self._wait.pause(POLL_S)

    def _finish(self, node: Node) -> NodeTracking:
        conn = self._connect(node)
        try:
            _stop, got, _reset = _exec(
                conn, ("HOTKEYS", "STOP"), ("HOTKEYS", "GET"), ("HOTKEYS", "RESET")
            )
        finally:
            conn.close()
        self._started.remove(node)
        tracking = parse_tracking(node, got)
        if tracking is None:
            raise NodeError(
                "the HOTKEYS session was reset by another client during the window",
                node=node.address,
            )
        return tracking

    def _clean_up(self) -> None:
        """STOP and RESET wherever a session of ours may still be on (errors, cancellation)."""
        for node in self._started:
            with contextlib.suppress(KeyscopeError, OSError):
                conn = self._connect(node)
                try:
                    _exec(conn, ("HOTKEYS", "STOP"), ("HOTKEYS", "RESET"))
                finally:
                    conn.close()
        self._started.clear()
