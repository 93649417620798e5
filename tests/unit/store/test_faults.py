"""Database and disk failures read as what they are, and PostgreSQL's text never shows."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from keyscope.domain import codes
from keyscope.store import faults


def test_a_full_disk_and_a_read_only_folder_have_their_own_codes() -> None:
    full = faults.from_os(OSError(errno.ENOSPC, "No space left on device"), "the data folder")
    assert full is not None and full.code == codes.NO_SPACE_LEFT
    assert full.message == "no space left on the disk of the data folder"
    read_only = faults.from_os(OSError(errno.EROFS, "Read-only file system"), "the data folder")
    assert read_only is not None and read_only.code == codes.NOT_WRITABLE
    assert read_only.message == "the data folder is not writable (Read-only file system)"
    assert faults.from_os(OSError(errno.ECONNRESET, "reset"), "the data folder") is None


def test_sqlite_says_what_happened_in_its_own_words(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    sqlite3.connect(path).execute("CREATE TABLE t (a)").connection.commit()
    engine = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    with pytest.raises(OperationalError) as raised, engine.connect() as connection:
        connection.execute(text("INSERT INTO t VALUES (1)"))
    error = faults.from_database(raised.value)
    assert error.code == codes.NOT_WRITABLE
    assert error.message == "the database cannot be written (attempt to write a readonly database)"
    engine.dispose()


def test_postgresql_errors_show_their_meaning_never_their_text() -> None:
    secret = "password=Pw-s3cret host=db.internal"
    full = faults.from_database(psycopg.errors.DiskFull(secret))
    assert full.code == codes.NO_SPACE_LEFT and "Pw-s3cret" not in full.message
    down = faults.from_database(psycopg.OperationalError(f"connection failed: {secret}"))
    assert down.code == codes.DATABASE_FAILING
    assert down.message == "the database does not answer or failed (OperationalError)"
