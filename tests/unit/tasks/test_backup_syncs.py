"""Snapshots of one instance are bounded per process, whichever backups they belong to."""

from __future__ import annotations

import threading

import pytest

from keyscope import defaults
from keyscope.domain.errors import TaskCancelled
from keyscope.tasks import backups


def test_a_snapshot_past_the_instance_limit_waits_and_gives_up_when_stopped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(defaults, "BACKUP_SHARDS_AT_ONCE", 2)
    syncs = backups._Syncs()
    stop = threading.Event()
    with syncs.slot("a", stop.is_set), syncs.slot("a", stop.is_set):
        with syncs.slot("b", stop.is_set):  # another instance has slots of its own
            pass
        waited = threading.Event()

        outcome: list[BaseException | None] = []

        def third() -> None:
            try:
                with syncs.slot("a", lambda: waited.set() or stop.is_set()):
                    outcome.append(None)
            except TaskCancelled as exc:
                outcome.append(exc)

        worker = threading.Thread(target=third)
        worker.start()
        assert waited.wait(10), "the third snapshot did not wait for a slot"
        stop.set()
        worker.join(10)
        assert not worker.is_alive()
        assert len(outcome) == 1
        assert isinstance(outcome[0], TaskCancelled)
    stop.clear()
    with syncs.slot("a", stop.is_set):  # the slots were given back
        pass
