"""The live scanner shared by the online analyses: SCAN every node, probe each page, yield records.

How one node is walked (one thread per node, each with its own cursor and connection):

- ``SCAN cursor COUNT n`` pages. A page's keys go to a *probe*: a small generator that
  yields batches of commands (packed RESP) and receives their replies, stage by stage
  (e.g. MEMORY USAGE, then TYPE and the size command for the few keys left), and finally
  returns records.
- Pipelined: the next SCAN leaves as soon as the previous cursor is read, before the page
  it returned is even packed; every stage that becomes ready leaves at once; up to
  ``MAX_PAGES_IN_FLIGHT`` pages are in the node's queue. The node works while Python packs.
- Each group of commands is followed by an ``ECHO <random marker>``, so the connection can
  hand the whole group's replies to hiredis as one array (parsed in C, no Python per reply).
- A Throttle per node paces the writes to ``max_ops_per_sec`` (every command counts as one
  operation, as INFO commandstats counts them); under a throttle pages shrink to ~2 ms of
  budget so the rate holds smoothly and other clients never wait long behind a batch.
- Cancellation and failure are checked before every write; a node that goes away raises
  NodeUnreachable naming it, and the other nodes' threads stop at their next step.
- ``CLIENT NO-TOUCH ON`` first, where the node has it (Redis 7.2+, Valkey): the probes'
  TYPE, STRLEN, ... then leave the keys' LRU/LFU state alone, so one analysis never makes
  keys look hot to the next. ``ScanStats.no_touch`` says where it held.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import hiredis

from keyscope.domain.errors import (
    KeyscopeError,
    NodeAuthFailed,
    NodeError,
    NodeUnreachable,
    TaskCancelled,
)
from keyscope.domain.scan import Cancellation, Progress, ScanOptions
from keyscope.domain.topology import Node
from keyscope.redis import acl
from keyscope.redis.auth import Auth
from keyscope.redis.connection import Endpoint, RawConnection, open_connection, pack
from keyscope.redis.throttle import Throttle

R = TypeVar("R")

DEFAULT_OPTIONS = ScanOptions()

ROUND_INTERVAL_S = 0.002
"""With a throttle, one page carries about this many seconds' worth of the budget: small
batches keep the rate smooth and the time the node spends on one batch (the wait other
clients see) short."""


@dataclass(frozen=True, slots=True)
class Batch:
    """Commands of one probe stage, packed, and how many replies they produce."""

    data: bytes
    replies: int


ProbeGen = Generator[Batch, list[Any], list[R]]
"""A probe for one page: yields batches, receives their replies, returns records."""


class Probe(Generic[R]):
    """Turns a page of keys into records; subclasses define ``page``."""

    ops_per_key: float = 1.0
    """Commands per key the probe sends, for sizing pages under a throttle."""

    def for_node(self, conn: RawConnection) -> Probe[R]:
        """The probe to use on the node behind ``conn`` (it may ask the node); self by default."""
        return self

    def page(self, keys: list[bytes], db: int, shard: str | None) -> ProbeGen[R]:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class ScanTarget:
    """One node to walk, the databases to walk on it, and the shard label of its records."""

    node: Node
    dbs: tuple[int, ...] = (0,)
    shard: str | None = None
    readonly: bool = False
    """Send READONLY first (a cluster replica serves reads only after it)."""


@dataclass(slots=True)
class ScanStats:
    """What a run did, per node address: keys returned by SCAN and commands sent."""

    keys: dict[str, int] = field(default_factory=dict)
    ops: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    no_touch: dict[str, bool] = field(default_factory=dict)
    """Whether the node took CLIENT NO-TOUCH (older ones have no such subcommand)."""

    @property
    def total_keys(self) -> int:
        return sum(self.keys.values())


class _Shared:
    """State the node threads share: the stop flag, progress and the first error."""

    def __init__(self, progress: Progress | None, total: int | None, cancel: Cancellation | None):
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.progress = progress
        self.total = total
        self.cancel = cancel
        self.scanned = 0
        self.error: BaseException | None = None

    def check(self) -> bool:
        """True to go on; raises TaskCancelled when the task was deleted."""
        if self.cancel is not None and self.cancel.cancelled:
            raise TaskCancelled("the task was deleted while it ran")
        return not self.stop.is_set()

    def advance(self, keys: int) -> None:
        with self.lock:
            self.scanned += keys
            scanned = self.scanned
        if self.progress is not None:
            self.progress(scanned, self.total)


class Scanner(Generic[R]):
    """Walks a set of nodes in parallel with one probe; iterate it for pages of records."""

    def __init__(
        self,
        targets: Sequence[ScanTarget],
        auth: Auth,
        probe: Probe[R],
        options: ScanOptions = DEFAULT_OPTIONS,
        *,
        progress: Progress | None = None,
        cancel: Cancellation | None = None,
        keys_total: int | None = None,
        deadline: Callable[[], bool] | None = None,
    ) -> None:
        self.targets = list(targets)
        self.auth = auth
        self.probe = probe
        self.options = options
        self.shared = _Shared(progress, keys_total, cancel)
        self.deadline = deadline
        self.stats = ScanStats()
        self.throttles: dict[str, Throttle] = {}
        self.timed_out = False

    def __iter__(self) -> Iterator[list[R]]:
        out: queue.Queue[list[R] | None] = queue.Queue(maxsize=256)
        threads = [
            threading.Thread(
                target=self._run, args=(t, out), name=f"scan-{t.node.address}", daemon=True
            )
            for t in self.targets
        ]
        for t in threads:
            t.start()
        running = len(threads)
        try:
            while running:
                item = out.get()
                if item is None:
                    running -= 1
                else:
                    yield item
        finally:
            self.shared.stop.set()
            while any(t.is_alive() for t in threads):
                with contextlib.suppress(queue.Empty):  # unblock producers on a full queue
                    out.get(timeout=0.05)
            for t in threads:
                t.join()
        if self.shared.error is not None:
            raise self.shared.error

    def _run(self, target: ScanTarget, out: queue.Queue[list[R] | None]) -> None:
        try:
            for records in self._walk(target):
                if records:
                    out.put(records)
        except BaseException as exc:  # handed to the consuming thread
            if isinstance(exc, NodeUnreachable) and not self.shared.stop.is_set():
                exc = _why_lost(exc, target, self.auth)
            with self.shared.lock:
                if self.shared.error is None:
                    self.shared.error = _wrap(exc, target)
            self.shared.stop.set()
        finally:
            out.put(None)

    def _walk(self, target: ScanTarget) -> Iterator[list[R]]:
        node = target.node
        endpoint = Endpoint(node.host, node.port, self.auth)
        throttle = Throttle(self.options.max_ops_per_sec, stop=self.shared.stop)
        self.throttles[node.address] = throttle
        conn = open_connection(
            endpoint,
            connect_timeout=self.options.connect_timeout,
            socket_timeout=self.options.socket_timeout,
        )
        try:
            conn.check_marker()
            throttle.record(1)
            self.stats.no_touch[node.address] = _no_touch(conn)  # a setting, like READONLY
            if target.readonly:
                conn.command("READONLY")
            probe = self.probe.for_node(conn)
            for db in target.dbs:
                if not self.shared.check():
                    return
                if db != 0 or len(target.dbs) > 1:
                    conn.command("SELECT", db)
                yield from self._walk_db(
                    conn, probe, throttle, db=db, shard=target.shard, address=node.address
                )
        finally:
            self.stats.ops[node.address] = throttle.ops
            self.stats.seconds[node.address] = throttle.elapsed
            conn.close()

    def _page_count(self, probe: Probe[R], throttle: Throttle) -> int:
        count = self.options.scan_count
        budget = throttle.batch_budget(ROUND_INTERVAL_S)
        if budget is not None:
            count = min(count, max(10, int(budget / max(probe.ops_per_key, 0.1))))
        return max(1, count)

    def _walk_db(
        self,
        conn: RawConnection,
        probe: Probe[R],
        throttle: Throttle,
        *,
        db: int,
        shard: str | None,
        address: str,
    ) -> Iterator[list[R]]:
        """Keep the node busy: the next SCAN leaves the moment its cursor is known.

        ``pending`` lists the reply groups in the order the node will answer them: a SCAN
        (gen None) or one stage of one page. A SCAN reply is answered at once with the next
        SCAN, before the page's first stage is even packed, and newly ready stages leave as
        soon as a reply has been handled; so the node works through queued commands while
        Python packs and parses.
        """
        count = self._page_count(probe, throttle)
        cursor: bytes | None = b"0"
        scanning = False
        pages = 0
        fresh: list[bytes] | None = None
        pending: deque[tuple[ProbeGen[R] | None, int]] = deque()
        ready: list[tuple[ProbeGen[R] | None, Batch]] = []
        while self._go_on():
            if cursor is not None and not scanning and pages < MAX_PAGES_IN_FLIGHT:
                scan = Batch(pack("SCAN", cursor, "COUNT", count), 1)
                self._send(conn, throttle, [(None, scan)], pending)
                scanning = True
            if fresh is not None:
                records = _step(probe.page(fresh, db, shard), None, ready)
                fresh = None
            elif not pending:
                return
            else:
                gen, n = pending.popleft()
                replies = conn.read_group(n)
                throttle.record(n + 1)
                if gen is None:
                    scanning = False
                    cursor, keys = _scan_reply(replies[0])
                    self.stats.keys[address] = self.stats.keys.get(address, 0) + len(keys)
                    self.shared.advance(len(keys))
                    if keys:
                        pages += 1
                        fresh = keys
                    continue
                records = _step(gen, replies, ready)
            if ready:
                self._send(conn, throttle, ready, pending)
                ready = []
            if records is not None:
                pages -= 1
                if records:
                    yield records

    def _go_on(self) -> bool:
        if not self.shared.check():
            return False
        if self.deadline is not None and self.deadline():
            self.timed_out = True
            self.shared.stop.set()
            return False
        return True

    @staticmethod
    def _send(
        conn: RawConnection,
        throttle: Throttle,
        batches: list[tuple[ProbeGen[R] | None, Batch]],
        pending: deque[tuple[ProbeGen[R] | None, int]],
    ) -> None:
        """One write: each group followed by the marker that lets read_group find its end."""
        throttle.wait()
        marker = conn.marker_command
        conn.send(b"".join([part for _, b in batches for part in (b.data, marker)]))
        pending.extend((g, b.replies) for g, b in batches)


MAX_PAGES_IN_FLIGHT = 4
"""Pages of one node being probed at once: enough to keep the node busy, few to bound memory."""


def _no_touch(conn: RawConnection) -> bool:
    """Ask the node not to touch the keys this connection reads; False where it cannot."""
    conn.send(pack("CLIENT", "NO-TOUCH", "ON"))
    (reply,) = conn.read(1)
    return not isinstance(reply, hiredis.ReplyError)


def _scan_reply(reply: Any) -> tuple[bytes | None, list[bytes]]:
    if isinstance(reply, hiredis.ReplyError):
        acl.check_replies([reply], ("SCAN",))
        raise NodeError(f"SCAN refused: {reply}")
    cursor, keys = reply
    return (None if cursor == b"0" else cursor), keys


def _step(
    gen: ProbeGen[R], replies: list[Any] | None, ready: list[tuple[ProbeGen[R] | None, Batch]]
) -> list[R] | None:
    """Advance one page's probe: its next batch joins ``ready``, or its records come back."""
    try:
        batch = next(gen) if replies is None else gen.send(replies)
    except StopIteration as stop:
        records: list[R] = stop.value
        return records
    ready.append((gen, batch))
    return None


def _why_lost(exc: NodeUnreachable, target: ScanTarget, auth: Auth) -> KeyscopeError:
    """A dropped connection, told apart from a password changed with old sessions dropped."""
    endpoint = Endpoint(target.node.host, target.node.port, auth)
    try:
        open_connection(endpoint, connect_timeout=1.0, socket_timeout=1.0).close()
    except NodeAuthFailed as refused:
        return refused
    except KeyscopeError:
        pass
    return exc


def _wrap(exc: BaseException, target: ScanTarget) -> BaseException:
    """Every failure of a node's walk names the node."""
    if isinstance(exc, NodeError):
        return exc.at(target.node.address)
    if isinstance(exc, KeyscopeError):
        return exc
    return NodeError(f"scan failed: {type(exc).__name__}: {exc}", node=target.node.address)
