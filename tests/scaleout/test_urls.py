"""The one database URL a user gives is mapped for SQLAlchemy (psycopg 3) and for libpq."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from keyscope.settings import Settings
from keyscope.store.db import is_postgres, libpq_url, sqlalchemy_url

pytestmark = pytest.mark.scaleout


@pytest.mark.parametrize(
    "given",
    [
        "postgresql://u:p@db:5432/keyscope",
        "postgres://u:p@db:5432/keyscope",
        "postgresql+psycopg://u:p@db:5432/keyscope",
    ],
)
def test_a_postgresql_url_maps_to_psycopg_for_sqlalchemy_and_to_plain_for_libpq(
    given: str,
) -> None:
    assert is_postgres(given)
    assert sqlalchemy_url(given) == "postgresql+psycopg://u:p@db:5432/keyscope"
    assert libpq_url(given) == "postgresql://u:p@db:5432/keyscope"


def test_sqlite_stays_embedded_and_postgresql_switches_to_scale_out() -> None:
    assert not Settings(database_url=None).scale_out
    assert not Settings(database_url=SecretStr("sqlite:///x.db")).scale_out
    assert sqlalchemy_url("sqlite:///x.db") == "sqlite:///x.db"
    scaled = Settings(database_url=SecretStr("postgresql://u:secret-pw@db/k"))
    assert scaled.scale_out
    assert "secret-pw" not in repr(scaled)
