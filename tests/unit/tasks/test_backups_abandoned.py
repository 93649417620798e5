"""Backups a dead process left ``waiting`` or ``backuping`` end ``failed``, their files gone."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest

from keyscope.store.backups import UPLOADED, backup_file, new_backup
from keyscope.store.db import SessionFactory, transaction
from keyscope.store.tables import BackupRow, InstanceRow
from keyscope.tasks import backups
from keyscope.tasks.backup_recovery import fail_abandoned_backups
from keyscope.tasks.backups import ERROR_TOOL_FAILED, HEARTBEAT
from tests.unit.tasks.helpers import T0, runner


def _backup(factory: SessionFactory, inst: InstanceRow, status: str, at: object = T0) -> str:
    with transaction(factory) as session:
        row = new_backup(session, instance_id=inst.id, sources=[UPLOADED], now=T0, status=status)
        row.updated_at = at  # type: ignore[assignment]
        return row.id


def _row(factory: SessionFactory, backup_id: str) -> BackupRow:
    with factory() as session:
        row = session.get(BackupRow, backup_id)
        assert row is not None
        return row


def test_the_embedded_runner_fails_unfinished_backups_at_start_and_removes_partial_files(
    factory: SessionFactory, inst: InstanceRow, tmp_path: Path
) -> None:
    taking = _backup(factory, inst, "backuping")
    queued = _backup(factory, inst, "waiting")
    done = _backup(factory, inst, "succeed")
    partial = backup_file(tmp_path / "backups", inst.id, taking)
    partial.write_bytes(b"REDIS0011 half of a snapshot")

    r = runner(factory, tmp_path, (), lambda: T0)
    r.start()
    r.shutdown()

    for backup_id in (taking, queued):
        row = _row(factory, backup_id)
        assert (row.status, row.error_code) == ("failed", ERROR_TOOL_FAILED)
    assert _row(factory, done).status == "succeed"
    assert not partial.exists()


def test_only_silent_backups_fail_when_other_processes_may_hold_some(
    factory: SessionFactory, inst: InstanceRow, tmp_path: Path
) -> None:
    silent_for = timedelta(seconds=backups.ABANDONED_AFTER_S)
    now = T0 + silent_for * 2
    silent = _backup(factory, inst, "backuping", at=T0)
    recent = _backup(factory, inst, "backuping", at=now - timedelta(seconds=1))
    held_here = _backup(factory, inst, "waiting", at=T0)
    HEARTBEAT.hold(held_here, factory, lambda: now)
    try:
        failed = fail_abandoned_backups(
            factory, tmp_path / "backups", now=now, silent_for=silent_for
        )
    finally:
        HEARTBEAT.release(held_here)

    assert failed == [silent]
    assert _row(factory, silent).status == "failed"
    assert _row(factory, recent).status == "backuping"
    assert _row(factory, held_here).status == "waiting"


def test_a_held_backup_is_kept_alive_by_the_heartbeat(
    factory: SessionFactory, inst: InstanceRow, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backups, "HEARTBEAT_S", 0.05)
    beat = backups._Heartbeat()
    later = T0 + timedelta(hours=1)
    backup_id = _backup(factory, inst, "backuping", at=T0)
    beat.hold(backup_id, factory, lambda: later)
    try:
        deadline = time.monotonic() + 10
        while _row(factory, backup_id).updated_at.replace(tzinfo=None) != later.replace(
            tzinfo=None
        ):
            assert time.monotonic() < deadline, "no heartbeat within 10 s"
            time.sleep(0.02)
    finally:
        beat.release(backup_id)


def test_files_no_backup_holds_are_swept_at_start_and_the_held_ones_kept(
    factory: SessionFactory, inst: InstanceRow, tmp_path: Path
) -> None:
    backups_dir = tmp_path / "backups"
    kept = _backup(factory, inst, "succeed")
    kept_file = backup_file(backups_dir, inst.id, kept)
    kept_file.write_bytes(b"REDIS0011 a whole snapshot")
    with transaction(factory) as session:
        row = session.get(BackupRow, kept)
        assert row is not None
        row.path = row.files[0].path = str(kept_file)
    deleted = _backup(factory, inst, "succeed")
    stray = backup_file(backups_dir, inst.id, deleted)  # its row goes, the file stays
    stray.write_bytes(b"REDIS0011 written after the delete")
    with transaction(factory) as session:
        session.delete(session.get(BackupRow, deleted))
    gone_instance = backups_dir / "5560df16-cebf-4473-95c4-d1b573c16e79"
    gone_instance.mkdir(mode=0o700)
    (gone_instance / "queued-after-delete.rdb").write_bytes(b"REDIS0011 an orphan")
    part = backup_file(backups_dir, inst.id, "left-by-a-crash", 2)
    part.with_name(part.name + ".part").write_bytes(b"REDIS0011 half")

    r = runner(factory, tmp_path, (), lambda: T0)
    r.start()
    r.shutdown()

    assert kept_file.read_bytes() == b"REDIS0011 a whole snapshot"
    assert not stray.exists()
    assert not gone_instance.exists()
    assert sorted(backups_dir.rglob("*")) == sorted([kept_file.parent, kept_file])


def test_a_held_backup_whose_row_was_deleted_elsewhere_is_told_to_stop(
    factory: SessionFactory, inst: InstanceRow, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backups, "HEARTBEAT_S", 0.05)
    beat = backups._Heartbeat()
    backup_id = _backup(factory, inst, "backuping", at=T0)
    beat.hold(backup_id, factory, lambda: T0, inst.id)
    try:
        stop = beat.stop_event(backup_id)
        with transaction(factory) as session:  # as another API process deleting the instance
            session.delete(session.get(BackupRow, backup_id))
        assert stop.wait(10), "the heartbeat did not notice the row was gone within 10 s"
    finally:
        beat.release(backup_id)
