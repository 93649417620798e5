"""Only requests signed like the SDK's get in, each credential only into its own projects."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from keyscope.api.signing import SignedRequest, sign_request
from tests.utils.dcs import OTHER_AK, OTHER_PROJECT, OTHER_SK, PROJECT, SignedClient, is_dcs_error
from tests.utils.service import running_app

pytestmark = pytest.mark.integration


@pytest.fixture
def client(tmp_path: Path) -> Iterator[SignedClient]:
    with running_app(tmp_path) as (_app, signed):
        yield signed


def test_a_signed_request_is_answered_with_a_request_id(client: SignedClient) -> None:
    response = client.get("/instances")
    assert response.status_code == 200
    assert response.json() == {"instance_num": 0, "count": 0, "instances": []}
    assert response.headers["x-request-id"]


def test_an_unsigned_request_is_401(client: SignedClient) -> None:
    response = client.http.get(f"/v2/{PROJECT}/instances")
    assert is_dcs_error(response, 401)
    assert response.headers["x-request-id"]
    assert response.headers["content-type"].startswith("application/json")


def test_a_wrong_secret_key_is_401(client: SignedClient) -> None:
    wrong = SignedClient(client.http, sk="not-the-secret-key-at-all-0123456789")
    assert is_dcs_error(wrong.get("/instances"), 401)


def test_a_malformed_authorization_header_is_401(client: SignedClient) -> None:
    headers = {"authorization": "SDK-HMAC-SHA256 nonsense", "x-sdk-date": "20240101T000000Z"}
    response = client.http.get(f"/v2/{PROJECT}/instances", headers=headers)
    assert is_dcs_error(response, 401)


@pytest.mark.parametrize("skew", [timedelta(minutes=16), -timedelta(minutes=16)])
def test_a_date_outside_fifteen_minutes_is_401(client: SignedClient, skew: timedelta) -> None:
    stale = SignedClient(client.http, now=datetime.now(UTC) + skew)
    assert is_dcs_error(stale.get("/instances"), 401)


def test_a_credential_on_a_project_it_does_not_own_is_403(client: SignedClient) -> None:
    response = client.get("/instances", project=OTHER_PROJECT)
    assert is_dcs_error(response, 403)
    other = SignedClient(client.http, ak=OTHER_AK, sk=OTHER_SK, project=OTHER_PROJECT)
    assert other.get("/instances").status_code == 200
    assert is_dcs_error(other.get("/instances", project=PROJECT), 403)


def test_a_body_changed_after_signing_is_401(client: SignedClient) -> None:
    body = b'{"name": "x", "mode": "single", "addresses": ["127.0.0.1:1"]}'
    headers = {"host": client.http.base_url.netloc.decode(), "content-type": "application/json"}
    signed = sign_request(
        SignedRequest("POST", f"/v2/{PROJECT}/instances", "", headers, body), client.ak, client.sk
    )
    response = client.http.post(
        f"/v2/{PROJECT}/instances", content=body.replace(b"x", b"y"), headers=dict(signed.headers)
    )
    assert is_dcs_error(response, 401)


def test_an_unknown_route_is_a_dcs_404(client: SignedClient) -> None:
    response = client.get("/no-such-thing")
    assert is_dcs_error(response, 404, "DCS.4040")
