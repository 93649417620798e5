"""``/docs`` can "Try it out": the OpenAPI document says how to authenticate and what to send.

The calls below are made as Swagger UI makes them from the document alone: the bearer
scheme the operation lists, a console token from signing in, the request body's media type
as declared (raw RDB bytes for the upload).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.utils.dcs import AK, PROJECT, SK, SignedClient
from tests.utils.rdbgen import write_rdb
from tests.utils.servers import RedisServer
from tests.utils.service import running_app

pytestmark = pytest.mark.integration


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[httpx.Client, SignedClient]]:
    with running_app(tmp_path) as (_, client):
        yield client.http, client


def _bearer_scheme(spec: dict[str, Any], operation: dict[str, Any]) -> str:
    """The name of the HTTP bearer scheme among those the operation accepts."""
    schemes = spec["components"]["securitySchemes"]
    names = [name for requirement in operation["security"] for name in requirement]
    bearer = [n for n in names if schemes[n]["type"] == "http" and schemes[n]["scheme"] == "bearer"]
    assert len(bearer) == 1, names
    return bearer[0]


def _authorize(http: httpx.Client) -> dict[str, str]:
    """What Swagger UI sends once "Authorize" got a console token: ``Bearer <token>``."""
    answer = http.post("/console/api/session", json={"access_key": AK, "secret_key": SK})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def test_every_dcs_operation_accepts_the_console_token_or_the_sdk_signature(
    service: tuple[httpx.Client, SignedClient],
) -> None:
    http, _ = service
    spec = http.get("/openapi.json").json()
    operations = [
        op
        for path, item in spec["paths"].items()
        if path.startswith("/v2/")
        for op in item.values()
    ]

    schemes = spec["components"]["securitySchemes"]
    assert {name: s["type"] for name, s in schemes.items()} == {
        "consoleToken": "http",
        "sdkSignature": "apiKey",
    }
    assert schemes["sdkSignature"] == {**schemes["sdkSignature"], "in": "header",
                                       "name": "Authorization"}  # fmt: skip
    assert operations
    for op in operations:
        assert op["security"] == [{"consoleToken": []}, {"sdkSignature": []}], op["operationId"]
        assert _bearer_scheme(spec, op) == "consoleToken"


def test_try_it_out_with_the_bearer_token_lists_instances_and_without_it_is_401(
    service: tuple[httpx.Client, SignedClient], redis_server: RedisServer
) -> None:
    http, signed = service
    registration = {"name": "docs", "mode": "single", "addresses": [redis_server.address]}
    created = signed.post("/instances", json_body=registration)
    assert created.status_code == 200, created.text
    spec = http.get("/openapi.json").json()
    path = "/v2/{project_id}/instances"
    operation = spec["paths"][path]["get"]
    assert operation["operationId"] == "ListInstances"

    url = path.format(project_id=PROJECT)
    tried = http.get(url, params={"limit": 10}, headers=_authorize(http))
    unauthorized = http.get(url, params={"limit": 10})

    assert tried.status_code == 200, tried.text
    assert [i["name"] for i in tried.json()["instances"]] == ["docs"]
    assert unauthorized.status_code == 401
    assert unauthorized.json()["error_code"].startswith("DCS.")


def test_the_upload_body_is_documented_as_raw_bytes_and_takes_an_rdb_file_that_way(
    service: tuple[httpx.Client, SignedClient], redis_server: RedisServer, tmp_path: Path
) -> None:
    http, signed = service
    registration = {"name": "up", "mode": "single", "addresses": [redis_server.address]}
    created = signed.post("/instances", json_body=registration)
    instance_id = created.json()["instance_id"]
    spec = http.get("/openapi.json").json()
    path = "/v2/{project_id}/instances/{instance_id}/backups/upload"
    operation = spec["paths"][path]["post"]
    body = operation["requestBody"]
    ((media_type, content),) = body["content"].items()
    rdb = tmp_path / "dump.rdb"
    write_rdb(rdb, keys=20)

    answer = http.post(
        path.format(project_id=PROJECT, instance_id=instance_id),
        content=rdb.read_bytes(),
        headers={**_authorize(http), "Content-Type": media_type},
    )
    backups = signed.get(f"/instances/{instance_id}/backups").json()

    assert operation["operationId"] == "UploadBackupFile"
    assert body["required"] is True
    assert (media_type, content["schema"]) == (
        "application/octet-stream",
        {"type": "string", "format": "binary"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["backup_id"] in [b["backup_id"] for b in backups["backup_record_response"]]
