"""Persistence: SQLAlchemy tables and queries, Alembic migrations; SQLite by default.

Modules: ``db`` (engine and sessions), ``tables`` (the whole schema), ``migrate`` (runs the
Alembic revisions at start-up), ``instances``, ``tasks`` and ``schedules`` (queries, one
resource each). Other features add their own query module next to these and reuse the tables
(backups and offline analyses are already part of the schema).
"""
