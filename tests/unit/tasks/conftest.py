"""The store and the instance every task test starts from."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from keyscope.store.db import SessionFactory
from keyscope.store.tables import InstanceRow
from tests.unit.tasks.helpers import instance, store


@pytest.fixture
def factory(tmp_path: Path) -> Iterator[SessionFactory]:
    with store(tmp_path) as factory:
        yield factory


@pytest.fixture
def inst(factory: SessionFactory) -> InstanceRow:
    return instance(factory)
