"""Database and disk failures as ``StorageError`` with a reason a person can act on.

``from_database`` takes SQLAlchemy's exceptions, ``from_os`` the operating system's; both
give the DCS code of what went wrong: no space left (DCS.5001), not writable (DCS.5003), or
a database that does not answer or refuses (DCS.5002). SQLite's own text is kept (it names
no secret and says what happened, "database or disk is full"); PostgreSQL's driver text may
quote the connection string, so only its SQLSTATE meaning and class are shown.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from keyscope.domain import codes
from keyscope.domain.errors import StorageError

NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
NOT_WRITABLE_ERRNOS = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})

_SQLITE_FULL = ("database or disk is full", "disk is full")
_SQLITE_READONLY = ("readonly database", "read-only", "unable to open database file")
_POSTGRES_FULL = "53100"  # disk_full
_POSTGRES_OUT_OF_RESOURCES = "53"


def from_os(exc: OSError, where: str) -> StorageError | None:
    """The storage error an OS failure at ``where`` is (None: not a storage failure)."""
    if exc.errno in NO_SPACE_ERRNOS:
        return StorageError(f"no space left on the disk of {where}", code=codes.NO_SPACE_LEFT)
    if exc.errno in NOT_WRITABLE_ERRNOS:
        return StorageError(f"{where} is not writable ({exc.strerror})", code=codes.NOT_WRITABLE)
    return None


def from_database(exc: Exception) -> StorageError:
    """The storage error a SQLAlchemy (or driver) exception is."""
    orig = getattr(exc, "orig", None) or exc
    sqlstate = getattr(orig, "sqlstate", None)
    if isinstance(sqlstate, str):  # PostgreSQL: its meaning, never its text
        if sqlstate == _POSTGRES_FULL:
            return StorageError(
                "the database has no space left on its disk (PostgreSQL disk_full)",
                code=codes.NO_SPACE_LEFT,
            )
        return StorageError(
            f"the database refused the operation ({type(orig).__name__}, SQLSTATE {sqlstate})",
            code=codes.DATABASE_FAILING,
        )
    module = type(orig).__module__
    if module.startswith(("sqlite3", "_sqlite3")):
        text = str(orig)
        if any(marker in text for marker in _SQLITE_FULL):
            return StorageError(
                f"no space left on the disk of the database ({text})", code=codes.NO_SPACE_LEFT
            )
        if any(marker in text for marker in _SQLITE_READONLY):
            return StorageError(f"the database cannot be written ({text})", code=codes.NOT_WRITABLE)
        return StorageError(f"the database failed ({text})", code=codes.DATABASE_FAILING)
    return StorageError(
        f"the database does not answer or failed ({type(orig).__name__})",
        code=codes.DATABASE_FAILING,
    )


def probe_writable(folder: Path, where: str) -> StorageError | None:
    """Write and sync one byte in ``folder`` (then remove it); the error if that fails.

    What a create or a backup is about to do there: a full disk fails the write (or the
    sync), a read-only mount or a missing folder fails the open.
    """
    try:
        with tempfile.TemporaryFile(dir=folder, prefix=".keyscope-probe-") as probe:
            probe.write(b"k")
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as exc:
        return from_os(exc, where) or StorageError(
            f"{where} cannot be used ({exc.strerror or type(exc).__name__})",
            code=codes.NOT_WRITABLE,
        )
    return None
