"""What runs for each task kind: a registry keyed by ``TaskKind``.

A feature plugs in without editing the runner: its module calls
``register(ExecutorSpec(TaskKind.OFFLINE, run=..., check=...))`` at import time, and that
module is imported by the router it serves (routers are included in ``keyscope.api.app``).
``run`` receives a ``TaskContext`` in a worker thread and returns an ``Outcome``; it raises
``KeyscopeError`` subclasses (messages safe to show) to fail the task and ``TaskCancelled``
when ``ctx.cancel`` is set. ``check`` runs at creation, before the task exists, to refuse an
unsupported instance with its DCS code.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keyscope.domain.scan import Cancellation, Progress, ScanOptions
from keyscope.domain.tasks import ScanType, TaskKind
from keyscope.domain.topology import Topology
from keyscope.redis.auth import Auth
from keyscope.store.db import SessionFactory

BUILTIN_MODULES = ("keyscope.tasks.online",)


@dataclass(frozen=True, slots=True)
class TaskContext:
    """Everything an executor may use; ``topology`` is None when the spec does not need it."""

    task_id: str
    instance_id: str
    kind: TaskKind
    scan_type: ScanType
    params: Mapping[str, Any]
    topology: Topology | None
    auth: Auth
    options: ScanOptions
    cancel: Cancellation
    progress: Progress
    session_factory: SessionFactory
    data_dir: Path
    backups_dir: Path
    backup_deadline_s: float | None = None
    """How long a backup the task takes may last (None: no bound of its own)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a successful task stores: ``num`` for the DCS ``num`` field, ``result`` as JSON."""

    num: int
    result: dict[str, Any] | None = None
    keys_scanned: int = 0


CheckFn = Callable[[Topology, Auth], None]
RunFn = Callable[[TaskContext], Outcome]


@dataclass(frozen=True, slots=True)
class ExecutorSpec:
    kind: TaskKind
    run: RunFn
    check: CheckFn | None = None
    needs_topology: bool = True
    """Discover the live topology before ``check`` and ``run`` (False: work from the store)."""
    extra: Mapping[str, Any] = field(default_factory=dict)


class ExecutorRegistry:
    """Executors by kind; the process-wide one is ``REGISTRY``, tests make their own."""

    def __init__(self, specs: tuple[ExecutorSpec, ...] = ()) -> None:
        self._specs = {spec.kind: spec for spec in specs}

    def register(self, spec: ExecutorSpec) -> None:
        """Make ``spec`` the executor of its kind (a later registration replaces one)."""
        self._specs[spec.kind] = spec

    def get(self, kind: TaskKind) -> ExecutorSpec | None:
        return self._specs.get(kind)


REGISTRY = ExecutorRegistry()


def register(spec: ExecutorSpec) -> None:
    """Register ``spec`` in the process-wide registry."""
    REGISTRY.register(spec)


def get(kind: TaskKind) -> ExecutorSpec | None:
    """The process-wide executor of ``kind``, built-in ones loaded on first use."""
    load_builtin()
    return REGISTRY.get(kind)


def load_builtin() -> None:
    for module in BUILTIN_MODULES:
        importlib.import_module(module)
