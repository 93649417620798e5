"""The seam between recording a task and executing it: ``TaskDispatcher``.

Two implementations: ``TaskRunner`` itself (embedded mode, an in-process thread pool) and
``keyscope.tasks.queue.QueueDispatcher`` (scale-out mode, Procrastinate jobs on PostgreSQL
that ``keyscope worker`` processes execute). The API and the scheduler only ever call
``TaskRunner.create``/``cancel``, which hand the stored task to the dispatcher.
"""

from __future__ import annotations

from typing import Protocol


class TaskDispatcher(Protocol):
    def start(self) -> None:
        """Get ready to accept tasks (embedded: recover and resume; queue: open the pool)."""

    def submit(self, task_id: str) -> None:
        """Have the stored waiting task executed, here or by some worker."""

    def cancel(self, task_id: str) -> None:
        """Stop the task wherever it waits or runs (its record is being deleted)."""

    def shutdown(self) -> None:
        """Release what ``start`` took."""
