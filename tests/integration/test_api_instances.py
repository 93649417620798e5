"""Registering Redis deployments: checked live, topology cached, the password never shown."""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.utils.dcs import SignedClient, is_dcs_error
from tests.utils.servers import (
    RedisServer,
    free_port,
    start_replica,
    start_server,
    wait_in_sync,
)
from tests.utils.service import running_app

pytestmark = pytest.mark.integration

PASSWORD = "s3cret-Pa55word-for-test"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[SignedClient]:
    with running_app(tmp_path) as (_app, signed):
        yield signed


@pytest.fixture
def protected(tmp_path: Path) -> Iterator[RedisServer]:
    server = start_server(tmp_path / "protected", password=PASSWORD)
    yield server
    server.stop()


def _register(client: SignedClient, addresses: list[str], mode: str = "single",
              password: str | None = None) -> str:  # fmt: skip
    body = {"name": "cache", "mode": mode, "addresses": addresses, "password": password}
    response = client.post("/instances", json_body=body)
    assert response.status_code == 200, response.text
    return str(response.json()["instance_id"])


def test_registering_checks_the_server_and_never_shows_the_password(
    client: SignedClient, protected: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    instance_id = _register(client, [protected.address], password=PASSWORD)
    assert uuid.UUID(instance_id)
    shown = client.get(f"/instances/{instance_id}")
    listed = client.get("/instances")
    assert shown.status_code == listed.status_code == 200
    one = shown.json()
    assert one["instance_id"] == instance_id
    assert (one["mode"], one["addresses"], one["engine"]) == (
        "single",
        [protected.address],
        "redis",
    )
    assert one["engine_version"].split(".")[0].isdigit()
    assert one["has_password"] is True
    assert listed.json()["count"] == 1
    for text in (shown.text, listed.text, caplog.text):
        assert PASSWORD not in text


def test_an_analysis_of_a_protected_instance_uses_the_password_and_never_logs_it(
    client: SignedClient, protected: RedisServer, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.DEBUG)
    protected.client().set("blob", b"x" * 20_000)
    instance_id = _register(client, [protected.address], password=PASSWORD)
    task = client.post(f"/instances/{instance_id}/bigkey-task").json()
    deadline = time.monotonic() + 60
    while (done := client.get(f"/instances/{instance_id}/bigkey-task/{task['id']}").json())[
        "status"
    ] not in ("success", "failed") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert done["status"] == "success", done
    assert [k["name"] for k in done["keys"]] == ["blob"]
    assert PASSWORD not in caplog.text
    stored = [p for p in (tmp_path / "keyscope-data").iterdir() if p.is_file()]
    assert any(p.name.startswith("keyscope.db") for p in stored)
    for path in stored:  # the database, its WAL, the keys: the password is only encrypted
        assert PASSWORD.encode() not in path.read_bytes()


def test_a_wrong_password_is_a_400_that_does_not_echo_it(
    client: SignedClient, protected: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = {"name": "c", "mode": "single", "addresses": [protected.address], "password": "nope-x1"}
    response = client.post("/instances", json_body=body)
    assert is_dcs_error(response, 400, "DCS.4972")
    assert "nope-x1" not in response.text
    assert "nope-x1" not in caplog.text


def test_an_unreachable_address_is_a_400(client: SignedClient) -> None:
    body = {"name": "c", "mode": "single", "addresses": [f"127.0.0.1:{free_port()}"]}
    response = client.post("/instances", json_body=body)
    assert is_dcs_error(response, 400, "DCS.4971")


def test_malformed_json_and_missing_fields_are_400_with_a_clear_message(
    client: SignedClient,
) -> None:
    bad_json = client.post("/instances", content=b'{"name": ')
    assert is_dcs_error(bad_json, 400, "DCS.4001")
    missing = client.post("/instances", json_body={"name": "c", "mode": "single"})
    assert is_dcs_error(missing, 400, "DCS.4002")
    assert "addresses" in missing.json()["error_msg"]
    wrong_mode = client.post("/instances", json_body={"name": "c", "mode": "x", "addresses": []})
    assert is_dcs_error(wrong_mode, 400, "DCS.4002")
    empty = client.post("/instances")
    assert is_dcs_error(empty, 400, "DCS.4002")


def test_an_unknown_instance_is_404(client: SignedClient) -> None:
    missing = str(uuid.uuid4())
    assert is_dcs_error(client.get(f"/instances/{missing}"), 404, "DCS.4041")
    assert is_dcs_error(client.get(f"/instances/{missing}/bigkey-tasks"), 404, "DCS.4041")
    assert is_dcs_error(client.delete(f"/instances/{missing}"), 404, "DCS.4041")


def test_deleting_an_instance_removes_it(client: SignedClient, redis_server: RedisServer) -> None:
    instance_id = _register(client, [redis_server.address])
    assert client.delete(f"/instances/{instance_id}").status_code == 204
    assert is_dcs_error(client.get(f"/instances/{instance_id}"), 404, "DCS.4041")


def test_nodes_of_a_master_with_a_replica_follow_the_dcs_node_operations(
    client: SignedClient, redis_with_replica: tuple[RedisServer, RedisServer]
) -> None:
    master, replica = redis_with_replica
    instance_id = _register(client, [master.address], mode="ha")
    nodes = client.get(f"/instances/{instance_id}/logical-nodes").json()
    assert nodes["instance_id"] == instance_id
    assert nodes["total"] == 2
    by_type = {n["node_type"]: n for n in nodes["nodes"]}
    assert set(by_type) == {"master", "slave"}
    assert by_type["master"]["node_port"] == str(master.port)
    assert by_type["slave"]["node_id"] == hashlib.md5(replica.address.encode()).hexdigest()

    batch = client.get("/instances-logical-nodes", params={"limit": 10, "offset": 0}).json()
    assert batch["count"] == 1
    assert batch["instances"][0]["node_count"] == 2

    groups = client.get(f"/instance/{instance_id}/groups").json()
    assert groups["group_count"] == 1
    group = groups["group_list"][0]
    roles = sorted(r["replication_role"] for r in group["replication_list"])
    assert roles == ["master", "slave"]
    state = client.get(f"/instance/{instance_id}/groups/{group['group_id']}/group-nodes-state")
    assert state.status_code == 200
    assert len(state.json()) == 2

    topology = client.get(f"/instances/{instance_id}/nodes").json()
    servers = topology["redis_server"]
    assert {s["node_type"] for s in servers} == {"master", "slave"}
    assert all(s["status"] == "Active" and s["used_memory"] for s in servers)
    slave = next(s for s in servers if s["node_type"] == "slave")
    assert (slave["relation_ip"], slave["relation_port"]) == (master.host, str(master.port))


def test_node_roles_follow_a_failover_and_a_dead_first_address(
    client: SignedClient, tmp_path: Path
) -> None:
    first = start_server(tmp_path / "first")
    second = start_replica(first, tmp_path / "second")
    try:
        instance_id = _register(client, [first.address, second.address], mode="ha")

        def roles() -> dict[str, str]:
            listing = client.get(f"/instances/{instance_id}/logical-nodes")
            assert listing.status_code == 200, listing.text
            return {
                f"{n['node_ip']}:{n['node_port']}": n["node_type"] for n in listing.json()["nodes"]
            }

        assert roles() == {first.address: "master", second.address: "slave"}

        second.client().replicaof("NO", "ONE")  # the replica is promoted ...
        first.client().replicaof(second.host, second.port)  # ... and the old master follows it
        wait_in_sync(second, first)
        assert roles() == {first.address: "slave", second.address: "master"}

        first.stop()  # the first registered address is gone: the second one answers
        assert roles() == {second.address: "master"}
        groups = client.get(f"/instance/{instance_id}/groups").json()
        (group,) = groups["group_list"]
        assert [r["replication_role"] for r in group["replication_list"]] == ["master"]
    finally:
        second.stop()
        first.stop()


def test_a_cluster_lists_one_group_per_shard(client: SignedClient, tmp_path: Path) -> None:
    from tests.utils.servers import start_cluster

    cluster = start_cluster(tmp_path / "cluster", shards=3)
    try:
        instance_id = _register(client, [cluster.addresses[0]], mode="cluster")
        groups = client.get(f"/instance/{instance_id}/groups").json()
        assert groups["group_count"] == 3
        nodes = client.get(f"/instances/{instance_id}/logical-nodes").json()
        assert {n["node_ip"] + ":" + n["node_port"] for n in nodes["nodes"]} == set(
            cluster.addresses
        )
        with cluster.client() as rc:
            rc.set("blob", b"x" * 20_000)
        task = client.post(f"/instances/{instance_id}/bigkey-task").json()
        deadline = time.monotonic() + 60
        path = f"/instances/{instance_id}/bigkey-task/{task['id']}"
        while (done := client.get(path).json())["status"] not in ("success", "failed"):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        (key,) = done["keys"]
        assert key["name"] == "blob"
        assert key["shard"] in cluster.addresses
    finally:
        cluster.stop()
