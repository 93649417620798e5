"""A per-node ceiling of commands per second, held over the whole run.

The throttle keeps a schedule rather than a bucket: after ``ops`` commands the next batch may
leave no earlier than ``start + ops / rate``. Whatever a batch costs is paid for by the wait
before the next one, so the run's average stays at the set rate and the only excess is the
last batch; the scanner sizes its batches to a small fraction of a second of the rate.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Throttle:
    """Counts the commands sent to one node and paces the batches; ``rate=None`` never waits."""

    def __init__(
        self,
        rate: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        stop: threading.Event | None = None,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self._clock = clock
        self._sleep = sleep or (stop or threading.Event()).wait
        self._start: float | None = None
        self._end: float | None = None
        self.ops = 0

    def wait(self) -> None:
        """Block until the schedule lets the next batch go (or the run is stopped)."""
        now = self._clock()
        if self._start is None:
            self._start = now
        if self.rate is None:
            return
        due = self._start + self.ops / self.rate
        if due > now:
            self._sleep(due - now)

    def record(self, ops: int) -> None:
        """Account for ``ops`` commands the node has answered."""
        self.ops += ops
        self._end = self._clock()

    @property
    def elapsed(self) -> float:
        """Seconds from the first batch to the last reply."""
        if self._start is None or self._end is None:
            return 0.0
        return self._end - self._start

    @property
    def achieved_rate(self) -> float:
        """Commands per second over the run so far."""
        return self.ops / self.elapsed if self.elapsed > 0 else 0.0

    def batch_budget(self, interval: float = 0.05) -> int | None:
        """How many commands one batch may hold so that it spans about ``interval`` seconds."""
        if self.rate is None:
            return None
        return max(1, int(self.rate * interval))
