"""Fixtures of the scale-out suite: a scratch PostgreSQL database and a fleet over it.

The suite skips, saying why, when no PostgreSQL answers (see ``fleet.admin_url``);
``scripts/test`` finds or starts one and exports its URL.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.scaleout.fleet import postgres_unreachable_reason, scratch_database


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    """A fresh database for the tests of one module, dropped after them."""
    reason = postgres_unreachable_reason()
    if reason is not None:
        print(f"scale-out tests skipped: {reason}")
        pytest.skip(reason)
    with scratch_database() as url:
        yield url
