"""The Alembic revisions build the schema the ORM describes, and keep its rules."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect
from sqlalchemy.exc import IntegrityError

from keyscope.api.schemas.common import format_time
from keyscope.store import migrate
from keyscope.store.db import make_engine, make_session_factory, transaction
from keyscope.store.instances import add_instance
from keyscope.store.tables import Base, InstanceRow, TaskRow
from tests.utils.service import single_topology

NOW = datetime(2020, 6, 15, 2, 21, 18, 669_123, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'k.db'}")
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


def test_migrations_create_every_table_of_the_orm(engine: Engine) -> None:
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert {"instances", "nodes", "tasks", "backups", "offline_analyses"} <= tables


def test_upgrading_an_up_to_date_database_changes_nothing(engine: Engine) -> None:
    migrate.upgrade(engine)
    assert "tasks" in inspect(engine).get_table_names()


def test_times_come_back_as_utc(engine: Engine) -> None:
    factory = make_session_factory(engine)
    local = NOW.astimezone(timezone(timedelta(hours=8)))
    with transaction(factory) as session:
        row = add_instance(
            session,
            project_id="p",
            name="n",
            addresses=["127.0.0.1:1"],
            password_encrypted=None,
            topology=single_topology(),
            now=local,
        )
        instance_id = row.id
    with factory() as session:
        stored = session.get(InstanceRow, instance_id)
        assert stored is not None
        assert stored.created_at == NOW
        assert stored.created_at.tzinfo is not None


def test_a_second_active_task_of_one_kind_on_one_instance_is_refused_by_the_database(
    engine: Engine,
) -> None:
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        instance = add_instance(
            session,
            project_id="p",
            name="n",
            addresses=["127.0.0.1:1"],
            password_encrypted=None,
            topology=single_topology(),
            now=NOW,
        )

    def task(task_id: str, status: str, kind: str = "bigkey") -> TaskRow:
        return TaskRow(
            id=task_id,
            instance_id=instance.id,
            kind=kind,
            status=status,
            scan_type="manual",
            created_at=NOW,
            num=0,
            keys_scanned=0,
        )

    with transaction(factory) as session:
        session.add_all(
            [
                task("a", "success"),
                task("b", "failed"),
                task("c", "waiting"),
                task("d", "running", kind="hotkey"),
            ]
        )
    with pytest.raises(IntegrityError), transaction(factory) as session:
        session.add(task("e", "running"))


def test_times_are_formatted_as_dcs_writes_them() -> None:
    assert format_time(NOW) == "2020-06-15T02:21:18.669Z"
    assert format_time(None) is None


def test_the_revisions_and_the_orm_describe_the_same_schema(engine: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_the_revisions_render_for_postgresql_with_the_same_rules(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from alembic import command

    config = migrate.alembic_config()
    config.set_main_option("sqlalchemy.url", "postgresql://keyscope@localhost/keyscope")
    command.upgrade(config, "head", sql=True)
    sql = capsys.readouterr().out
    assert "CREATE TABLE tasks" in sql
    assert "TIMESTAMP WITH TIME ZONE" in sql
    assert "CREATE UNIQUE INDEX uq_tasks_one_active_per_instance_kind" in sql
    assert "WHERE status IN ('waiting', 'running')" in sql
