"""What ``keyscope serve`` and ``keyscope worker`` check before they start, one line per failure.

Each step either passes or prints ``keyscope: <what is wrong>`` on stderr and exits
non-zero, never with a traceback: the settings, the data folder (created, writable, held by
no other keyscope process), the database (reachable, migrated, readable) and the secrets
key. No line quotes a setting's value (a database URL carries its password).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import Any, NoReturn

import typer
from pydantic import ValidationError

from keyscope.domain.errors import KeyscopeError
from keyscope.settings import Settings
from keyscope.store.datadir import DataDirLock, lock_data_dir

EXIT_BAD_START = 2


def fail(message: str) -> NoReturn:
    typer.echo(f"keyscope: {message}", err=True)
    raise typer.Exit(EXIT_BAD_START)


def load_settings(**given: Any) -> Settings:
    """The settings; only what was given on the command line overrides ``KEYSCOPE_*``."""
    try:
        return Settings(**{k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors(include_input=False, include_url=False)[0]
        name = ".".join(str(part) for part in first["loc"]) or "settings"
        fail(f"bad setting {name} (KEYSCOPE_{name.upper()}): {first['msg']}")


def hold_data_dir(settings: Settings, *, command: str) -> DataDirLock:
    """Create the data folder, prove it writable, and take its exclusive lock."""
    folder = settings.data_dir
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder) as probe:
            probe.write(b"x")
            probe.flush()
            os.fsync(probe.fileno())
        return lock_data_dir(folder, command=command)
    except KeyscopeError as exc:
        fail(exc.message)
    except OSError as exc:
        fail(f"the data folder {folder} is not writable: {exc.strerror or type(exc).__name__}")


def prepare_database(settings: Settings) -> None:
    """Reach the database (bounded tries in scale-out), migrate it, and read it once."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    from keyscope.store import migrate
    from keyscope.store.db import make_engine

    url = settings.database_url_value()
    try:
        engine = make_engine(url)
    except (SQLAlchemyError, ValueError, ImportError) as exc:
        fail(f"the database URL (KEYSCOPE_DATABASE_URL) is not usable ({type(exc).__name__})")
    except OSError as exc:
        fail(f"the database file could not be created: {exc.strerror or type(exc).__name__}")
    try:
        if settings.scale_out:
            from keyscope.tasks import queue

            queue.prepare_database(engine, url, attempts=settings.db_connect_attempts)
        else:
            migrate.upgrade(engine)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1 FROM tasks LIMIT 1"))
    except SQLAlchemyError as exc:
        fail(describe_database_error(exc, postgres=settings.scale_out))
    except Exception as exc:  # psycopg's own errors from the queue schema step
        fail(f"the database did not answer ({type(exc).__name__})")
    finally:
        engine.dispose()


def describe_database_error(exc: Exception, *, postgres: bool) -> str:
    """One line for a database that cannot be used; SQLite's own reason, PostgreSQL's class.

    A PostgreSQL driver message could quote the connection string; SQLite's names no secret.
    """
    from sqlalchemy.exc import OperationalError

    orig = getattr(exc, "orig", None) or exc
    if postgres:
        if isinstance(exc, OperationalError):
            return f"the database did not answer ({type(orig).__name__})"
        return f"the database could not be used ({type(orig).__name__})"
    return f"the SQLite database could not be used: {orig}"


def check(step: Callable[[], object], what: str) -> None:
    """Run one more start-up step that raises ``KeyscopeError`` (the secrets key, ...)."""
    try:
        step()
    except KeyscopeError as exc:
        fail(exc.message)
    except OSError as exc:
        fail(f"{what}: {exc.strerror or type(exc).__name__}")
