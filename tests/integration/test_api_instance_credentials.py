"""UpdateInstance: new credentials are checked against the deployment before they are kept.

``PUT /v2/{project_id}/instances/{instance_id}`` replaces the fields it is given (null
clears one) and keeps the rest; a login the deployment refuses is a 400 that changes
nothing; the password stays write-only.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from keyscope.redis.transport import NOT_REDIS
from tests.integration.test_api_bigkeys import wait_finished
from tests.utils.dcs import SignedClient, is_dcs_error
from tests.utils.servers import RedisServer, start_server
from tests.utils.service import running_app

pytestmark = pytest.mark.integration

OLD, NEW = "Old-Pa55word-for-put", "New-Pa55word-for-put"
USER_PASSWORD = "User-Pa55word-for-put"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    started = start_server(tmp_path / "redis", password=OLD)
    with started.client() as c:
        c.set("blob", "x" * 20_000)
        c.execute_command("ACL", "SETUSER", "keyscope", "on", f">{USER_PASSWORD}", "+@all", "~*")
    yield started
    started.stop()


@pytest.fixture
def client(tmp_path: Path) -> Iterator[SignedClient]:
    with running_app(tmp_path) as (_app, signed):
        yield signed


def register(client: SignedClient, server: RedisServer) -> str:
    body = {"name": "cache", "mode": "single", "addresses": [server.address], "password": OLD}
    created = client.post("/instances", json_body=body)
    assert created.status_code == 200, created.text
    return str(created.json()["instance_id"])


def big_keys(client: SignedClient, instance: str) -> dict[str, Any]:
    task = client.post(f"/instances/{instance}/bigkey-task")
    if task.status_code != 200:  # refused at once (the support check logs in)
        return {"status": "refused", **task.json()}
    return wait_finished(client, f"/instances/{instance}/bigkey-task/{task.json()['id']}")


def test_a_rotated_password_is_put_and_used_from_then_on(
    client: SignedClient, server: RedisServer
) -> None:
    instance = register(client, server)
    with server.client() as c:
        c.config_set("requirepass", NEW)
    assert big_keys(client, instance)["status"] == "refused"

    updated = client.put(f"/instances/{instance}", json_body={"password": NEW})

    assert updated.status_code == 204, updated.text
    assert big_keys(client, instance)["status"] == "success"
    shown = client.get(f"/instances/{instance}")
    assert NEW not in shown.text and OLD not in shown.text
    assert shown.json()["has_password"] is True


def test_switching_to_an_acl_user_keeps_the_other_fields_and_logs_in_as_that_user(
    client: SignedClient, server: RedisServer
) -> None:
    instance = register(client, server)
    body = {"username": "keyscope", "password": USER_PASSWORD, "name": "renamed"}

    assert client.put(f"/instances/{instance}", json_body=body).status_code == 204

    with server.client() as c:
        c.config_set("requirepass", "the-default-user-moved-on")
    shown = client.get(f"/instances/{instance}").json()
    assert (shown["username"], shown["name"], shown["mode"]) == ("keyscope", "renamed", "single")
    assert shown["addresses"] == [server.address]
    assert big_keys(client, instance)["status"] == "success"


def test_a_login_the_deployment_refuses_is_a_400_that_changes_nothing(
    client: SignedClient, server: RedisServer
) -> None:
    instance = register(client, server)
    wrong_password = client.put(f"/instances/{instance}", json_body={"password": "Not-It-x9"})
    wrong_user = client.put(f"/instances/{instance}", json_body={"username": "nobody"})
    no_password = client.put(f"/instances/{instance}", json_body={"password": None})
    tls_on_plain = client.put(f"/instances/{instance}", json_body={"tls": {"enabled": True}})

    address = server.address
    assert is_dcs_error(wrong_password, 400, "DCS.4972")
    assert wrong_password.json()["error_msg"] == f"{address}: the node refused the password"
    assert "Not-It-x9" not in wrong_password.text
    assert is_dcs_error(wrong_user, 400, "DCS.4972")
    assert (
        wrong_user.json()["error_msg"]
        == f"{address}: the node refused user 'nobody' or its password"
    )
    assert is_dcs_error(no_password, 400, "DCS.4972")
    assert no_password.json()["error_msg"] == f"{address}: the node requires a password"
    assert is_dcs_error(tls_on_plain, 400, "DCS.4971")
    assert tls_on_plain.json()["error_msg"] == f"{address}: {NOT_REDIS}"
    shown = client.get(f"/instances/{instance}").json()
    assert (shown["username"], shown["has_password"], shown["tls"]) == (None, True, None)
    assert big_keys(client, instance)["status"] == "success"


def test_an_update_of_an_unknown_instance_or_with_unknown_fields_is_refused(
    client: SignedClient, server: RedisServer
) -> None:
    instance = register(client, server)
    unknown_field = client.put(f"/instances/{instance}", json_body={"addresses": ["h:1"]})
    unknown_instance = client.put(
        "/instances/00000000-0000-4000-8000-000000000000", json_body={"password": NEW}
    )
    assert is_dcs_error(unknown_field, 400, "DCS.4002")
    assert is_dcs_error(unknown_instance, 404, "DCS.4041")
