"""Scale-out API processes: fail the running tasks of workers that stopped heartbeating.

Every live worker's supervisor does this too (``keyscope.tasks.worker``), but with no worker
alive nobody would: a dead worker's task would read ``running`` for ever and refuse every
new analysis of its kind on its instance. Each API process therefore runs the same check,
on the same bound (``KEYSCOPE_STALL_AFTER_S``), in one daemon thread.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from keyscope.store.db import SessionFactory
from keyscope.tasks import lifecycle
from keyscope.tasks.clock import Clock, utcnow

log = logging.getLogger(__name__)


class SilentTaskReaper:
    """A thread that fails silent running tasks every ``stall_after_s / 3`` (at most 10 s)."""

    def __init__(self, factory: SessionFactory, *, stall_after_s: float,
                 clock: Clock = utcnow) -> None:  # fmt: skip
        self._factory = factory
        self._silent_for = timedelta(seconds=stall_after_s)
        self._every_s = max(0.2, min(10.0, stall_after_s / 3))
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def reap_once(self) -> list[str]:
        failed = lifecycle.fail_silent(
            self._factory, now=self._clock(), silent_for=self._silent_for
        )
        for task_id in failed:
            log.warning("task %s failed: its worker stopped heartbeating", task_id)
        return failed

    def _loop(self) -> None:
        while not self._stop.wait(self._every_s):
            try:
                self.reap_once()
            except Exception as exc:  # a database that is down: the next round tries again
                log.warning("the silent-task check failed (%s)", type(exc).__name__)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="keyscope-reaper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
