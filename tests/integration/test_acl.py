"""Least privilege: every analysis runs as an ACL user with exactly README's rules.

The rules are read from README's table, so the documentation is what is tested: each
analysis succeeds as a user with exactly its rules, and fails without any one of them, with
the refused command and that very rule named. A user name is always sent, never dropped for
the default user.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from keyscope.domain.errors import NodeAuthFailed, NodePermissionDenied
from keyscope.domain.topology import InstanceMode
from keyscope.redis.acl import KEY_RULE
from keyscope.redis.auth import Auth
from keyscope.redis.topology import discover
from tests.integration.test_api_bigkeys import wait_finished
from tests.utils.analyses import ANALYSES, fill_cluster, run_analysis, write_keyspace
from tests.utils.dcs import is_dcs_error
from tests.utils.servers import Cluster, RedisServer, start_cluster, start_server
from tests.utils.service import running_app

pytestmark = pytest.mark.integration

README = Path(__file__).resolve().parents[2] / "README.md"
USER, SECRET = "keyscope", "acl-Pa55word-for-tests"
ADMIN_PASSWORD = "admin-Pa55word-for-tests"


def documented_rules() -> dict[str, tuple[list[str], list[str]]]:
    """README's table: analysis → (its rules, what a Redis Cluster adds)."""
    text = README.read_text()
    table = text.split("<!-- acl-rules")[1].split("<!-- /acl-rules -->")[0]
    rules: dict[str, tuple[list[str], list[str]]] = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if len(cells) != 3 or not cells[1].startswith("`"):
            continue
        name = next(a for a in ANALYSES if cells[0].startswith(a))
        base, cluster = (cell.strip("`").replace("\\|", "|").split() for cell in cells[1:])
        rules[name] = (base, cluster)
    assert set(rules) == set(ANALYSES)
    return rules


RULES = documented_rules()


def set_user(servers: list[RedisServer], rules: list[str]) -> None:
    for server in servers:
        with server.client() as c:
            c.execute_command("ACL", "SETUSER", USER, "reset", "on", f">{SECRET}", *rules)


def command_of(rule: str) -> str:
    if rule == KEY_RULE:
        return "read access to keys"
    return rule.lstrip("+").replace("|", " ").upper()


def each_rule_is_needed(
    servers: list[RedisServer], kept: list[str], rules: list[str], run: Callable[[], object]
) -> None:
    """Without any one of ``rules`` (``kept`` kept), ``run`` fails naming that rule."""
    for rule in rules:
        set_user(servers, [*kept, *(r for r in rules if r != rule)])
        with pytest.raises(NodePermissionDenied) as caught:
            run()
        error = caught.value
        assert error.rule == rule
        assert error.message == (
            f"{error.node}: the server refused {command_of(rule)} to this user (NOPERM); "
            f"allow it with the ACL rule {rule}"
        )


LOGIN = Auth(USER, SECRET)


ENGINES = Path(__file__).resolve().parents[2].parent / "shared" / "engines"


@pytest.fixture(scope="module", params=["redis-server on PATH", "valkey-8.0.1", "redis-7.4.1"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RedisServer]:
    """A protected standalone with keys of every type in two databases, and an LFU policy;
    the PATH's redis-server, and two engines of ../shared/engines where they are."""
    engine: dict[str, str] = {}
    if request.param != "redis-server on PATH":
        path = ENGINES / request.param / "bin" / "redis-server"
        if not path.is_file():
            pytest.skip(f"{request.param} is not in ../shared/engines")
        engine["binary"] = str(path)
    started = start_server(
        tmp_path_factory.mktemp("acl"), password=ADMIN_PASSWORD,
        extra=["--maxmemory-policy", "allkeys-lfu", "--repl-diskless-sync-delay", "0"],
        **engine,
    )  # fmt: skip
    with started.client() as c0, started.client(db=3) as c3:
        write_keyspace(c0)
        write_keyspace(c3, big=False)
    yield started
    started.stop()


@pytest.mark.parametrize("analysis", ANALYSES)
def test_each_analysis_runs_with_exactly_its_documented_rules_and_fails_without_any_one(
    server: RedisServer, analysis: str, tmp_path: Path
) -> None:
    rules, _cluster = RULES[analysis]

    set_user([server], rules)
    result = run_analysis(analysis, InstanceMode.SINGLE, [server.address], LOGIN, tmp_path)
    assert result

    each_rule_is_needed([server], [], rules, lambda: run_analysis(
        analysis, InstanceMode.SINGLE, [server.address], LOGIN, tmp_path
    ))  # fmt: skip


def test_big_keys_with_the_optional_config_rule_find_the_same_keys(
    server: RedisServer, tmp_path: Path
) -> None:
    rules, _cluster = RULES["big keys"]
    set_user([server], rules)
    without = run_analysis("big keys", InstanceMode.SINGLE, [server.address], LOGIN, tmp_path)
    set_user([server], [*rules, "+config|get"])
    with_config = run_analysis("big keys", InstanceMode.SINGLE, [server.address], LOGIN, tmp_path)
    assert with_config == without
    assert len(without) == 6  # type: ignore[arg-type]  # one big key of each type


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    started = start_cluster(tmp_path_factory.mktemp("acl-cluster"), shards=3, with_replicas=True)
    fill_cluster(started)
    yield started
    started.stop()


@pytest.mark.parametrize("analysis", ANALYSES)
def test_on_a_cluster_each_analysis_needs_exactly_the_documented_additions(
    cluster: Cluster, analysis: str, tmp_path: Path
) -> None:
    rules, added = RULES[analysis]
    nodes = cluster.servers

    set_user(nodes, [*rules, *added])
    assert run_analysis(analysis, InstanceMode.CLUSTER, cluster.addresses, LOGIN, tmp_path)

    each_rule_is_needed(nodes, rules, added, lambda: run_analysis(
        analysis, InstanceMode.CLUSTER, cluster.addresses, LOGIN, tmp_path
    ))  # fmt: skip


def test_a_wrong_user_name_fails_even_where_the_default_user_needs_no_password(
    tmp_path: Path,
) -> None:
    open_server = start_server(tmp_path / "open")
    try:
        with open_server.client() as c:
            c.execute_command("ACL", "SETUSER", "reader", "on", "nopass", "+@all", "~*")
            c.execute_command("ACL", "SETUSER", "locked", "on", ">locked-pw", "+@all", "~*")
        address = [open_server.address]

        with pytest.raises(NodeAuthFailed) as unknown:
            discover(InstanceMode.SINGLE, address, Auth("nobody", "whatever"))
        with pytest.raises(NodeAuthFailed) as no_password:
            discover(InstanceMode.SINGLE, address, Auth("locked"))
        nopass_user = discover(InstanceMode.SINGLE, address, Auth("reader"))

        assert unknown.value.message == (
            f"{open_server.address}: the node refused user 'nobody' or its password"
        )
        assert no_password.value.message == (
            f"{open_server.address}: the node refused user 'locked' or its password"
        )
        assert nopass_user.nodes[0].address == open_server.address
        with open_server.client(decode_responses=True) as c:
            names = {entry["username"] for entry in c.acl_log()}
        assert names >= {"nobody", "locked"}  # the server saw the very users keyscope sent
    finally:
        open_server.stop()


def test_a_password_for_the_default_user_is_sent_as_auth_password(server: RedisServer) -> None:
    topology = discover(InstanceMode.SINGLE, [server.address], Auth(password=ADMIN_PASSWORD))
    assert topology.nodes[0].port == server.port
    with pytest.raises(NodeAuthFailed, match="refused user 'default' or its password"):
        discover(InstanceMode.SINGLE, [server.address], Auth("default", "not-it"))


def test_through_the_api_a_denied_command_fails_the_task_naming_the_rule_to_add(
    server: RedisServer, tmp_path: Path
) -> None:
    rules, _cluster = RULES["big keys"]
    set_user([server], [r for r in rules if r != "+memory|usage"])
    with running_app(tmp_path) as (_app, client):
        body = {"name": "least", "mode": "single", "addresses": [server.address],
                "username": USER, "password": SECRET}  # fmt: skip
        created = client.post("/instances", json_body=body)
        assert created.status_code == 200, created.text
        instance = created.json()["instance_id"]
        shown = client.get(f"/instances/{instance}").json()
        assert (shown["username"], shown["has_password"]) == (USER, True)

        task = client.post(f"/instances/{instance}/bigkey-task").json()
        record = wait_finished(client, f"/instances/{instance}/bigkey-task/{task['id']}")

        assert record["status"] == "failed"
        assert record["reason"] == (
            f"{server.address}: the server refused MEMORY USAGE to this user (NOPERM); "
            "allow it with the ACL rule +memory|usage"
        )

        wrong = dict(body, username="nobody")
        refused = client.post("/instances", json_body=wrong)
        assert is_dcs_error(refused, 400, "DCS.4972")
        assert refused.json()["error_msg"] == (
            f"{server.address}: the node refused user 'nobody' or its password"
        )
        assert SECRET not in refused.text


def test_the_documented_key_rule_reads_keys_and_never_writes_them(server: RedisServer) -> None:
    set_user([server], [*RULES["big keys"][0], "+set"])
    with server.client() as c:
        c.execute_command("AUTH", USER, SECRET)
        assert c.type("str:big") == b"string"
        with pytest.raises(redis.exceptions.NoPermissionError):
            c.set("str:big", "overwritten")
