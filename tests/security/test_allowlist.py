"""KEYSCOPE_ALLOWED_NETWORKS: registration outside the allowed networks is refused, inside works."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from keyscope.api.app import Overrides, create_app
from keyscope.domain import codes
from keyscope.redis import allowlist
from keyscope.settings import Settings
from tests.utils.dcs import SignedClient, credentials_file, is_dcs_error
from tests.utils.servers import RedisServer
from tests.utils.service import serving

pytestmark = pytest.mark.integration


@pytest.fixture
def client(tmp_path: Path) -> Iterator[SignedClient]:
    import httpx

    data = tmp_path / "data"
    credentials_file(data / "credentials.json")
    # Only 127.0.0.2: the test Redis listens on 127.0.0.1, outside the list.
    settings = Settings(data_dir=data, allowed_networks="127.0.0.2/32, 10.99.0.0/16")
    app = create_app(settings, Overrides(scheduler_poll_s=None))
    with serving(app) as url, httpx.Client(base_url=url, timeout=60) as http:
        yield SignedClient(http)
    assert allowlist.allowed_networks() is None  # the policy ends with the app


def test_an_address_outside_the_allowed_networks_is_refused_with_400(
    client: SignedClient, redis_server: RedisServer
) -> None:
    body = {"name": "c", "mode": "single", "addresses": [redis_server.address]}
    response = client.post("/instances", json_body=body)
    assert is_dcs_error(response, 400, codes.ADDRESS_NOT_ALLOWED)
    assert "KEYSCOPE_ALLOWED_NETWORKS" in response.json()["error_msg"]


def test_a_name_resolving_outside_is_refused_like_its_address(
    client: SignedClient, redis_server: RedisServer
) -> None:
    body = {"name": "c", "mode": "single", "addresses": [f"localhost:{redis_server.port}"]}
    assert is_dcs_error(client.post("/instances", json_body=body), 400, codes.ADDRESS_NOT_ALLOWED)


def test_an_address_inside_the_allowed_networks_is_connected_to(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    allowlist.configure(allowlist.parse_networks("127.0.0.0/8"))
    try:
        sock = allowlist.connect(redis_server.host, redis_server.port, 5)
        sock.sendall(b"PING\r\n")
        assert sock.recv(64) == b"+PONG\r\n"
        sock.close()
    finally:
        allowlist.configure(None)


def test_a_malformed_network_stops_the_settings() -> None:
    with pytest.raises(ValueError, match="does not appear to be"):
        Settings(allowed_networks="10.0.0.0/8, not-a-network")


def test_ipv4_mapped_ipv6_addresses_count_as_their_ipv4() -> None:
    allowlist.configure(allowlist.parse_networks("127.0.0.0/8"))
    try:
        assert allowlist.is_allowed("::ffff:127.0.0.1")
        assert not allowlist.is_allowed("::ffff:10.0.0.1")
        assert not allowlist.is_allowed("169.254.169.254")
    finally:
        allowlist.configure(None)
