"""Issue 18 #9 (part): a console token ends at sign-out, and sign-ins are bounded by settings.

Before: the console token worked for an hour on every route (DELETE included) and could not
be revoked; signing out only forgot it in the browser tab.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from keyscope.api.app import Overrides, create_app
from keyscope.settings import Settings
from tests.utils.dcs import AK, PROJECT, SK, credentials_file, is_dcs_error
from tests.utils.service import serving

pytestmark = pytest.mark.integration


class Clock:
    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def http(tmp_path: Path, clock: Clock) -> Iterator[httpx.Client]:
    data = tmp_path / "keyscope-data"
    data.mkdir()
    credentials_file(data / "credentials.json")
    settings = Settings(data_dir=data, workers=1, console_token_ttl_s=600,
                        console_sessions_per_key=2)  # fmt: skip
    app = create_app(settings, Overrides(clock=clock, scheduler_poll_s=None))
    with serving(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


def sign_in(http: httpx.Client) -> str:
    response = http.post("/console/api/session", json={"access_key": AK, "secret_key": SK})
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def listing(http: httpx.Client, token: str) -> httpx.Response:
    return http.get(f"/v2/{PROJECT}/instances", headers=bearer(token))


def test_sign_out_ends_the_token_on_every_route(http: httpx.Client) -> None:
    token = sign_in(http)
    assert listing(http, token).status_code == 200
    assert http.delete("/console/api/session", headers=bearer(token)).status_code == 204
    refused = listing(http, token)
    assert is_dcs_error(refused, 401)
    assert "signed out" in refused.json()["error_msg"]
    delete = http.delete(f"/v2/{PROJECT}/instances/5560df16-cebf-4473-95c4-d1b573c16e79",
                         headers=bearer(token))  # fmt: skip
    assert is_dcs_error(delete, 401)
    # Signing out twice is harmless; a forged token cannot sign anyone out.
    assert http.delete("/console/api/session", headers=bearer(token)).status_code == 204
    assert is_dcs_error(http.delete("/console/api/session", headers=bearer(token + "x")), 401)


def test_sign_ins_past_the_per_key_bound_end_the_oldest(http: httpx.Client) -> None:
    first, second, third = sign_in(http), sign_in(http), sign_in(http)
    assert is_dcs_error(listing(http, first), 401)
    assert [listing(http, t).status_code for t in (second, third)] == [200, 200]


def test_a_token_ends_after_the_configured_lifetime(http: httpx.Client, clock: Clock) -> None:
    response = http.post("/console/api/session", json={"access_key": AK, "secret_key": SK})
    token, expires_at = response.json()["token"], response.json()["expires_at"]
    issued = datetime.now(UTC)
    expiry = datetime.strptime(expires_at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert timedelta(seconds=590) < expiry - issued <= timedelta(seconds=600)
    clock.offset = timedelta(seconds=590)
    assert listing(http, token).status_code == 200
    clock.offset = timedelta(seconds=601)
    assert is_dcs_error(listing(http, token), 401)
