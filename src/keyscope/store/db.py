"""Engine and session factory from a database URL; SQLite gets WAL and foreign keys."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

SessionFactory = sessionmaker[Session]


def is_postgres(url: str) -> bool:
    """Whether ``url`` names a PostgreSQL database (``postgresql://``, ``postgres://``, ...)."""
    return url.split(":", 1)[0].split("+", 1)[0] in {"postgresql", "postgres"}


def sqlalchemy_url(url: str) -> str:
    """``url`` with PostgreSQL mapped to the psycopg 3 driver SQLAlchemy needs for it."""
    if not is_postgres(url):
        return url
    return "postgresql+psycopg:" + url.split(":", 1)[1]


def libpq_url(url: str) -> str:
    """``url`` as libpq (psycopg, Procrastinate) takes it: no SQLAlchemy driver suffix."""
    return "postgresql:" + url.split(":", 1)[1]


def make_engine(url: str, *, single_connection: bool = False) -> Engine:
    """An engine for ``url``; SQLite connections are set up for concurrent readers.

    ``single_connection``: a pool of one autocommit connection that is never waited for
    (taking it while it is out raises instead) -- for the reads the API does on its event
    loop, which must never block on connections the loop itself has to give back.
    """
    sqlite = url.startswith("sqlite")
    pool: dict[str, Any]
    if single_connection:  # its reads need no transaction: no BEGIN and ROLLBACK round trips
        pool = {"pool_size": 1, "max_overflow": 0, "pool_timeout": 0,
                "isolation_level": "AUTOCOMMIT"}  # fmt: skip
    elif sqlite:  # cheap connections: one per request in flight, never waited for
        pool = {"pool_size": 10, "max_overflow": -1}
    else:
        pool = {"pool_size": 10, "max_overflow": 30}
    if sqlite:
        _create_private(make_url(url).database)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **pool
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(sqlalchemy_url(url), pool_pre_ping=True, **pool)


def _create_private(path: str | None) -> None:
    """Create the SQLite file owner-only before SQLite does; its WAL files inherit the mode.

    The database holds task results (key names) and encrypted passwords.
    """
    if not path or path == ":memory:" or os.path.exists(path):
        return
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def make_session_factory(engine: Engine) -> SessionFactory:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: SessionFactory) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with factory() as session, session.begin():
        yield session
