"""Bring a database to the newest schema with the packaged Alembic revisions."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

MIGRATION_LOCK_ID = 0x6B657973  # "keys"
"""PostgreSQL advisory lock held while migrating, so processes starting together take turns."""


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every revision up to ``revision``; safe to run at every start."""
    config = alembic_config()
    with engine.begin() as connection:
        lock_for_migration(connection)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def lock_for_migration(connection: Connection) -> None:
    """On PostgreSQL, wait for the other processes' migrations (released at commit)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})


def wait_for_database(engine: Engine, *, attempts: int = 30, delay_s: float = 1.0) -> None:
    """Try to connect up to ``attempts`` times; the last OperationalError is raised.

    The error is raised without the URL's password: SQLAlchemy's message names only the
    host, and the URL is never logged here.
    """
    for attempt in range(1, attempts + 1):
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return
        except OperationalError:
            if attempt == attempts:
                raise
            log.info("database not ready (attempt %d of %d), retrying", attempt, attempts)
            time.sleep(delay_s)
