"""A console sign-out on one API process ends the token on the other (PostgreSQL shared)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.scaleout.fleet import Fleet
from tests.utils.dcs import AK, PROJECT, SK

pytestmark = pytest.mark.scaleout


@pytest.fixture
def two_apis(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Iterator[Fleet]:
    fleet = Fleet(tmp_path_factory.mktemp("sessions"), database_url)
    try:
        fleet.start_api()
        fleet.start_api()
        yield fleet
    finally:
        fleet.stop()


def test_signing_out_on_one_api_process_ends_the_token_on_the_other(two_apis: Fleet) -> None:
    first, second = two_apis.client(0).http, two_apis.client(1).http
    signed_in = first.post("/console/api/session", json={"access_key": AK, "secret_key": SK})
    bearer = {"Authorization": f"Bearer {signed_in.json()['token']}"}
    listing = f"/v2/{PROJECT}/instances"
    assert [c.get(listing, headers=bearer).status_code for c in (first, second)] == [200, 200]
    assert second.delete("/console/api/session", headers=bearer).status_code == 204
    assert [c.get(listing, headers=bearer).status_code for c in (first, second)] == [401, 401]
