"""Backup jobs: a snapshot of every shard over replication into private files, recorded.

A backup row moves ``waiting → backuping → succeed | failed``; so does each of its files
(one per shard, read from the node ``copy_instance`` chose). A failure keeps a DCS backup
error code (``dcs.08.0001`` the snapshot could not be taken, ``dcs.08.0002`` timed out) and
the failed shard's file row says which shard and why. The shards are taken at the same time,
at most ``defaults.BACKUP_SHARDS_AT_ONCE`` snapshots of one instance at once in a process;
when one fails the others are stopped and every file of the backup removed: a backup holds
all its shards or nothing.

Jobs started by the API run on a small pool of their own; the offline analysis runs them
inline before it reads the file. A job starts only if its row is still ``waiting`` (a
deleted instance takes its queued backups with it), and stops while it runs when the row
goes away (``cancel_instance`` in this process, the heartbeat finding the row gone in any).

While a process holds a backup (queued or being taken) it refreshes the row's
``updated_at`` every ``HEARTBEAT_S``; a row left ``waiting`` or ``backuping`` by a process
that died is failed by ``fail_abandoned_backups`` (at start in the embedded mode, by the
workers' supervisor after ``ABANDONED_AFTER_S`` in the scale-out mode) and its partial files
removed; ``sweep_orphan_files`` then removes every file no backup holds.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, NoReturn

from sqlalchemy import select, update

from keyscope import defaults
from keyscope.domain.errors import (
    KeyscopeError,
    NodeError,
    NodeUnreachable,
    RdbFormatError,
    TaskCancelled,
)
from keyscope.redis.auth import NO_AUTH, Auth
from keyscope.redis.replication import save_snapshot
from keyscope.store import faults
from keyscope.store.backups import backup_file, file_names, instance_folder, remove_files
from keyscope.store.db import SessionFactory, transaction
from keyscope.store.tables import BackupFileRow, BackupRow
from keyscope.tasks.clock import Clock

log = logging.getLogger(__name__)

ERROR_TOOL_FAILED = "dcs.08.0001"
ERROR_TIMED_OUT = "dcs.08.0002"
UNFINISHED = ("waiting", "backuping")
HEARTBEAT_S = 5.0
ABANDONED_AFTER_S = 30.0
"""A held backup's row is refreshed every HEARTBEAT_S; one silent this long was abandoned."""


def _set(factory: SessionFactory, backup_id: str, **values: object) -> int:
    with transaction(factory) as session:
        done = session.execute(update(BackupRow).where(BackupRow.id == backup_id).values(**values))
        return int(getattr(done, "rowcount", 0) or 0)


def _set_file(factory: SessionFactory, backup_id: str, position: int, **values: object) -> None:
    with transaction(factory) as session:
        session.execute(
            update(BackupFileRow)
            .where(BackupFileRow.backup_id == backup_id, BackupFileRow.position == position)
            .values(**values)
        )


@dataclass(slots=True)
class _Held:
    factory: SessionFactory
    clock: Clock
    instance_id: str | None
    stop: threading.Event = field(default_factory=threading.Event)


class _Heartbeat:
    """One daemon thread per process refreshing ``updated_at`` of the backups it holds.

    A held backup whose row is gone (its instance was deleted, here or by another process)
    is told to stop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, _Held] = {}
        self._thread: threading.Thread | None = None

    def hold(self, backup_id: str, factory: SessionFactory, clock: Clock,
             instance_id: str | None = None) -> bool:  # fmt: skip
        """Keep the row alive from now; False when it was already held (by the caller's caller)."""
        with self._lock:
            if backup_id in self._held:
                return False
            self._held[backup_id] = _Held(factory, clock, instance_id)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._beat, name="keyscope-backup-heartbeat", daemon=True
                )
                self._thread.start()
            return True

    def release(self, backup_id: str) -> None:
        with self._lock:
            self._held.pop(backup_id, None)

    def held(self) -> set[str]:
        with self._lock:
            return set(self._held)

    def holds(self, backup_id: str) -> bool:
        """Whether this process is taking that backup or has it queued."""
        with self._lock:
            return backup_id in self._held

    def stop_event(self, backup_id: str) -> threading.Event:
        """Set when the held backup must stop (a fresh event for one not held)."""
        with self._lock:
            held = self._held.get(backup_id)
            return held.stop if held is not None else threading.Event()

    def cancel_instance(self, instance_id: str) -> list[str]:
        """Tell every backup of the instance held here to stop; returns their ids."""
        with self._lock:
            chosen = {i: h for i, h in self._held.items() if h.instance_id == instance_id}
        for held in chosen.values():
            held.stop.set()
        return list(chosen)

    def _beat(self) -> None:
        while True:
            time.sleep(HEARTBEAT_S)
            with self._lock:
                held = dict(self._held)
            for backup_id, h in held.items():
                try:
                    with transaction(h.factory) as session:
                        session.execute(
                            update(BackupRow)
                            .where(BackupRow.id == backup_id, BackupRow.status.in_(UNFINISHED))
                            .values(updated_at=h.clock())
                        )
                        gone = session.get(BackupRow, backup_id) is None
                    if gone:
                        h.stop.set()
                except Exception:
                    log.exception("could not refresh backup %s", backup_id)


HEARTBEAT = _Heartbeat()


@dataclass(frozen=True, slots=True)
class _Shard:
    position: int
    host: str
    port: int
    label: str
    """The shard as the backup names it: its master's ``ip:port`` and group."""


@dataclass(slots=True)
class _Outcome:
    size: int = 0
    path: Path | None = None
    error: BaseException | None = None


def _claim(factory: SessionFactory, backup_id: str, clock: Clock) -> list[_Shard]:
    """Move a waiting backup to ``backuping``; TaskCancelled when it no longer waits."""
    with transaction(factory) as session:
        done = session.execute(
            update(BackupRow)
            .where(BackupRow.id == backup_id, BackupRow.status == "waiting")
            .values(status="backuping", updated_at=clock(), execution_at=clock())
        )
        if not getattr(done, "rowcount", 0):
            raise TaskCancelled(f"backup {backup_id} was deleted or is no longer waiting")
        session.execute(
            update(BackupFileRow)
            .where(BackupFileRow.backup_id == backup_id)
            .values(status="backuping")
        )
        files = session.scalars(
            select(BackupFileRow)
            .where(BackupFileRow.backup_id == backup_id)
            .order_by(BackupFileRow.position)
        )
        shards = []
        for f in files:
            if f.host is None or f.port is None:
                raise TaskCancelled(f"backup {backup_id} has a file no node can give")
            name = f.shard or f"{f.host}:{f.port}"
            label = f"{name} ({f.group_name})" if f.group_name else name
            shards.append(_Shard(f.position, f.host, f.port, label))
        return shards


def _error_code(exc: BaseException) -> str:
    if isinstance(exc, NodeError) and "timed out" in exc.message:
        return ERROR_TIMED_OUT
    return ERROR_TOOL_FAILED


def _message(exc: BaseException) -> str:
    """Why a shard failed, safe to show."""
    if isinstance(exc, KeyscopeError):
        return exc.message
    if isinstance(exc, OSError):
        return f"the file could not be written ({exc})"
    return "the backup was stopped"


def _storage_fault(exc: BaseException) -> BaseException:
    """A full or unwritable backups folder as the storage error it is; others as they are."""
    if isinstance(exc, OSError):
        storage = faults.from_os(exc, "the backups folder")
        if storage is not None:
            storage.__cause__ = exc
            return storage
    return exc


class _Syncs:
    """At most ``BACKUP_SHARDS_AT_ONCE`` snapshots of one instance taken at once by this
    process, whichever backups (a whole-instance one, one node's, an offline analysis's)
    they belong to."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slots: dict[str, threading.BoundedSemaphore] = {}

    @contextlib.contextmanager
    def slot(self, instance_id: str, stopped: Callable[[], bool]) -> Iterator[None]:
        """Wait for a free slot (TaskCancelled when ``stopped`` says so first), hold it."""
        with self._lock:
            slots = self._slots.setdefault(
                instance_id, threading.BoundedSemaphore(defaults.BACKUP_SHARDS_AT_ONCE)
            )
        while not slots.acquire(timeout=0.2):
            if stopped():
                raise TaskCancelled("the backup was stopped before this shard began")
        try:
            if stopped():
                raise TaskCancelled("the backup was stopped before this shard began")
            yield
        finally:
            slots.release()


SYNCS = _Syncs()


def run_backup(factory: SessionFactory, backup_id: str, backups_dir: Path, clock: Clock, *,
               auth: Auth = NO_AUTH, consume: Callable[[BinaryIO], object] | None = None,
               deadline_s: float | None = None,
               at_once: int = defaults.BACKUP_SHARDS_AT_ONCE) -> list[Path]:  # fmt: skip
    """Take every shard of a waiting backup into its file and record the outcome.

    Returns the files in shard order. A shard's failure stops the others, removes every
    file of the backup and is raised (NodeError for a node that failed, a storage error for
    a full or unwritable backups folder) after the backup is recorded ``failed`` with its
    reason; TaskCancelled when the backup was deleted before or while it was taken.
    ``deadline_s`` bounds the whole backup from its start; past it the backup fails as timed
    out. ``consume`` (one-shard backups only) reads the snapshot while it arrives (see
    ``save_snapshot``); an ``RdbFormatError`` it raises leaves the backup recorded as taken
    and is raised after.
    """
    held_here = HEARTBEAT.hold(backup_id, factory, clock)
    try:  # released only after the last status write: until then the backup is in progress
        shards = _claim(factory, backup_id, clock)
        if consume is not None and len(shards) != 1:
            raise ValueError("consume reads the snapshot of a one-shard backup only")
        with factory() as session:
            instance_id = session.get(BackupRow, backup_id).instance_id  # type: ignore[union-attr]
        run = _Run(factory, backup_id, instance_id, backups_dir, clock, shards, deadline_s)
        return run.take(auth=auth, consume=consume, at_once=at_once)
    finally:
        if held_here:
            HEARTBEAT.release(backup_id)


def _failure(error: BaseException | None) -> bool:
    return error is not None and not isinstance(error, TaskCancelled)


@dataclass
class _Run:
    """One backup being taken: its shards, what became of each."""

    factory: SessionFactory
    backup_id: str
    instance_id: str
    backups_dir: Path
    clock: Clock
    shards: list[_Shard]
    deadline_s: float | None = None
    """The whole backup's, from ``started``; each snapshot gets what is left of it."""
    started: float = field(default_factory=time.monotonic)
    outcomes: dict[int, _Outcome] = field(default_factory=dict)
    format_errors: list[RdbFormatError] = field(default_factory=list)
    failed: threading.Event = field(default_factory=threading.Event)
    """A shard failed: the others stop too."""

    def take(self, *, auth: Auth, consume: Callable[[BinaryIO], object] | None,
             at_once: int) -> list[Path]:  # fmt: skip
        stop = HEARTBEAT.stop_event(self.backup_id)
        self.outcomes = {s.position: _Outcome() for s in self.shards}

        def one(shard: _Shard) -> None:
            self._one(shard, stop, auth, consume)

        if len(self.shards) == 1:
            one(self.shards[0])
        else:
            workers = min(at_once, len(self.shards))
            with ThreadPoolExecutor(workers, thread_name_prefix="keyscope-shard") as pool:
                list(pool.map(one, self.shards))
        if stop.is_set() or any(o.error for o in self.outcomes.values()):
            self._give_up()
        return self._record()

    def _one(self, shard: _Shard, stop: threading.Event, auth: Auth,
             consume: Callable[[BinaryIO], object] | None) -> None:  # fmt: skip
        outcome = self.outcomes[shard.position]
        dest = backup_file(self.backups_dir, self.instance_id, self.backup_id,
                           shard.position if len(self.shards) > 1 else None)  # fmt: skip

        def stopped() -> bool:
            return stop.is_set() or self.failed.is_set()

        try:
            with SYNCS.slot(self.instance_id, stopped):
                outcome.size = save_snapshot(shard.host, shard.port, dest, auth=auth,
                                             consume=consume, cancelled=stopped,
                                             deadline_s=self._time_left(shard))  # fmt: skip
        except RdbFormatError as exc:
            self.format_errors.append(exc)
            outcome.size = dest.stat().st_size
        except BaseException as exc:
            outcome.error = _storage_fault(exc)
            if not isinstance(exc, TaskCancelled):
                self.failed.set()
            return
        outcome.path = dest

    def _time_left(self, shard: _Shard) -> float | None:
        """What is left of the backup's deadline for this snapshot (timed out when nothing)."""
        if self.deadline_s is None:
            return None
        left = self.deadline_s - (time.monotonic() - self.started)
        if left <= 0:
            raise NodeUnreachable(
                f"timed out: the backup did not finish within its deadline of"
                f" {self.deadline_s:g} s (KEYSCOPE_BACKUP_DEADLINE_S)",
                node=f"{shard.host}:{shard.port}",
            )
        return left

    def _record(self) -> list[Path]:
        paths = [p for s in self.shards if (p := self.outcomes[s.position].path) is not None]
        for s in self.shards:
            o = self.outcomes[s.position]
            _set_file(self.factory, self.backup_id, s.position, status="succeed", size=o.size,
                      path=str(o.path))  # fmt: skip
        single = str(paths[0]) if len(paths) == 1 else None
        size = sum(o.size for o in self.outcomes.values())
        if not _set(self.factory, self.backup_id, status="succeed", path=single, size=size,
                    updated_at=self.clock()):  # fmt: skip
            remove_files(paths)  # deleted while the last bytes arrived: nothing keeps its files
            self._drop_empty_folder()
            raise TaskCancelled(f"backup {self.backup_id} was deleted while it was taken")
        if self.format_errors:
            raise self.format_errors[0]
        return paths

    def _drop_empty_folder(self) -> None:
        """The folder of an instance deleted meanwhile, made again by this job, goes."""
        with contextlib.suppress(OSError):  # not empty: other backups of a live instance
            instance_folder(self.backups_dir, self.instance_id).rmdir()

    def _give_up(self) -> NoReturn:
        """Record the backup failed (or cancelled), remove every file it wrote, raise why."""
        positions = [s.position for s in self.shards]
        remove_files(file_names(self.backups_dir, self.instance_id, self.backup_id, positions))
        self._drop_empty_folder()
        first = next((s for s in self.shards if _failure(self.outcomes[s.position].error)), None)
        for s in self.shards:
            own = self.outcomes[s.position].error
            if own is not None and _failure(own):
                reason = f"shard {s.label}: {_message(own)}"
            elif first is not None:
                reason = f"not kept: shard {first.label} failed"
            else:
                reason = "the backup was cancelled"
            _set_file(self.factory, self.backup_id, s.position, status="failed", path=None,
                      size=0, reason=reason)  # fmt: skip
        error = self.outcomes[first.position].error if first is not None else None
        if first is None or error is None:
            _set(self.factory, self.backup_id, status="failed", error_code=ERROR_TOOL_FAILED,
                 reason="the backup was cancelled", updated_at=self.clock())  # fmt: skip
            raise TaskCancelled(f"backup {self.backup_id} was cancelled")
        several = len(self.shards) > 1  # then the reason names the shard
        reason = f"shard {first.label}: {_message(error)}" if several else _message(error)
        _set(self.factory, self.backup_id, status="failed", error_code=_error_code(error),
             reason=reason, updated_at=self.clock())  # fmt: skip
        if isinstance(error, NodeError) and several:
            raise type(error)(f"shard {first.label}: {error.message}", code=error.code) from error
        raise error


class BackupJobs:
    """Runs backup jobs in the background; one pool per process, created on first use."""

    _lock = threading.Lock()
    _pool: ThreadPoolExecutor | None = None

    @classmethod
    def submit(cls, backup_id: str, job: Callable[[], object], *,
               factory: SessionFactory, clock: Clock,
               instance_id: str | None = None) -> None:  # fmt: skip
        """Queue ``job``; the backup is held (its row kept alive) from now until the job ends."""
        HEARTBEAT.hold(backup_id, factory, clock, instance_id)
        with cls._lock:
            if cls._pool is None:
                cls._pool = ThreadPoolExecutor(2, thread_name_prefix="keyscope-backup")
            pool = cls._pool

        def guarded() -> None:
            try:
                job()
            except (NodeError, TaskCancelled):
                pass  # already recorded on the backup row, with its DCS backup error code
            except KeyscopeError as exc:  # recorded too; a full disk is worth a line in the log
                log.warning("backup %s failed: %s", backup_id, exc.message)
            except Exception:
                log.exception("backup job failed unexpectedly")
            finally:
                HEARTBEAT.release(backup_id)

        pool.submit(guarded)

    @staticmethod
    def running(backup_id: str) -> bool:
        """Whether this process is taking that backup now, queued, in the background or
        inline for an offline analysis (a row left by a crash is not)."""
        return HEARTBEAT.holds(backup_id)

    @staticmethod
    def cancel_instance(instance_id: str) -> list[str]:
        """Stop this process's queued and running backups of a deleted instance."""
        return HEARTBEAT.cancel_instance(instance_id)
