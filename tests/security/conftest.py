"""One served keyscope and one registered Redis instance, shared by a test module."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI

from tests.utils.dcs import SignedClient
from tests.utils.servers import RedisServer, start_server
from tests.utils.service import running_app


@dataclass
class Service:
    app: FastAPI
    client: SignedClient
    redis: RedisServer
    instance_id: str


def register(client: SignedClient, redis: RedisServer, password: str | None = None) -> str:
    body = {"name": "cache", "mode": "single", "addresses": [redis.address], "password": password}
    response = client.post("/instances", json_body=body)
    assert response.status_code == 200, response.text
    return str(response.json()["instance_id"])


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    root = tmp_path_factory.mktemp("service")
    redis = start_server(root / "redis")
    try:
        redis.client().mset({f"key:{i}": "v" * 16 for i in range(200)})
        with running_app(root) as (app, client):
            yield Service(app, client, redis, register(client, redis))
    finally:
        redis.stop()
