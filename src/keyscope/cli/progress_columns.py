"""Progress-bar columns the CLI's long commands share: the key rate of a scan or a read."""

from __future__ import annotations

import time

from rich.progress import ProgressColumn, Task
from rich.text import Text


class KeysPerSecondColumn(ProgressColumn):
    """Keys per second since the task started; ``keys_field`` names where the count is."""

    def __init__(self, keys_field: str | None = None) -> None:
        super().__init__()
        self.keys_field = keys_field
        self._started: dict[int, float] = {}

    def render(self, task: Task) -> Text:
        started = self._started.setdefault(int(task.id), time.monotonic())
        keys = task.fields.get(self.keys_field, 0) if self.keys_field else task.completed
        elapsed = time.monotonic() - started
        rate = keys / elapsed if elapsed > 0.5 else 0.0
        return Text(f"{rate:,.0f} keys/s", style="progress.data.speed")
