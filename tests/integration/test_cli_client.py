"""``keyscope instances`` and ``keyscope run`` drive a real ``keyscope serve`` over signed HTTP.

One service process for the module, a fresh redis-server per test; the CLI runs as the
console script does, in its own process, with the endpoint and credentials file from the
environment (as a user sets them) unless a test gives them as options.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.test_cli_imports import HEAVY, loaded, run_and_list_modules
from tests.utils.dcs import AK, PROJECT, SignedClient
from tests.utils.dcs import credentials_file as write_credentials
from tests.utils.serve_process import KEYSCOPE, Serve, keyscope_serve
from tests.utils.servers import Cluster, RedisServer, free_port, start_server
from tests.utils.tls import make_certs, start_tls_server

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    data = tmp_path_factory.mktemp("client") / "data"
    data.mkdir()
    write_credentials(data / "credentials.json")
    with keyscope_serve(data) as running:
        yield running


def credentials_of(serve: Serve) -> Path:
    return Path(serve.output).parent / "data" / "credentials.json"


def environment(serve: Serve, env: dict[str, str] | None = None) -> dict[str, str]:
    return {
        **os.environ,
        "NO_PROXY": "127.0.0.1,localhost",
        "COLUMNS": "200",  # rich draws tables this wide off a terminal
        "KEYSCOPE_ENDPOINT": serve.url,
        "KEYSCOPE_CREDENTIALS": str(credentials_of(serve)),
        **(env or {}),
    }


def ks(
    serve: Serve, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The CLI in a process of its own, pointed at ``serve`` through the environment."""
    return subprocess.run(
        [KEYSCOPE, *args], input=stdin, capture_output=True, text=True,
        env=environment(serve, env), timeout=180,
        check=False,
    )  # fmt: skip


def ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def one_line_error(proc: subprocess.CompletedProcess[str], code: int = 1) -> str:
    """The single stderr line of a refused command (no traceback)."""
    assert proc.returncode == code, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("keyscope: ")
    return lines[0]


def add(serve: Serve, name: str, server: RedisServer, *extra: str, stdin: str | None = None) -> str:
    out = ok(ks(serve, "instances", "add", name, "--address", server.address, *extra,
                "--format", "json", stdin=stdin))  # fmt: skip
    instance_id: str = json.loads(out)["instance_id"]
    return instance_id


def test_a_registered_instance_is_listed_shown_analysed_offline_and_removed(
    serve: Serve, redis_server: RedisServer, tmp_path: Path
) -> None:
    with redis_server.client() as r:
        r.set("big:string", "x" * 20_000)
        r.rpush("small:list", *range(10))
        r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")  # only the scan reclaims it
        r.set("gone", "1", px=1)
    name = f"cache-{redis_server.port}"

    instance_id = add(serve, name, redis_server)
    expired = json.loads(ok(ks(serve, "run", "expire", instance_id, "--wait", "--format", "json")))

    listed = json.loads(ok(ks(serve, "instances", "list", "--format", "json")))
    assert instance_id in [i["instance_id"] for i in listed]
    shown = json.loads(ok(ks(serve, "instances", "show", name, "--format", "json")))
    assert (shown["instance_id"], shown["mode"], shown["node_count"]) == (instance_id, "single", 1)
    table = ok(ks(serve, "instances", "list", "--format", "table"))
    assert name in table

    keys = json.loads(ok(ks(serve, "run", "bigkeys", name, "--wait", "--format", "json")))
    assert [(k["name"], k["type"], k["size"], k["unit"]) for k in keys] == [
        ("big:string", "string", 20_000, "byte")
    ]

    assert expired == {"num": 1, "scanned_keys": 2}  # SCAN skips (and reclaims) the expired key
    with redis_server.client() as r:
        assert r.exists("gone") == 0

    report = json.loads(ok(ks(serve, "run", "offline", name, "--wait", "--format", "json")))
    assert report["total_num"] == 2
    assert {k["key"] for k in report["largest_keys"]} == {"big:string", "small:list"}
    tables = ok(ks(serve, "run", "offline", name, "--wait", "--format", "table"))
    assert "Largest keys" in tables
    assert "big:string" in tables

    assert ok(ks(serve, "instances", "remove", name)).startswith(f"Removed {name} ({instance_id})")
    gone = one_line_error(ks(serve, "instances", "show", name))
    assert f"no instance named {name!r}" in gone


def test_hot_keys_come_back_with_the_floor_that_decided_them(
    serve: Serve, redis_lfu_server: RedisServer
) -> None:
    with redis_lfu_server.client() as r:
        r.set("hot", "v")
        r.set("cold", "v")
        pipe = r.pipeline(transaction=False)
        for _ in range(5_000):
            pipe.get("hot")
        pipe.execute()
    name = f"lfu-{redis_lfu_server.port}"
    add(serve, name, redis_lfu_server)

    keys = json.loads(ok(ks(serve, "run", "hotkeys", name, "--wait", "--format", "json")))
    table = ok(ks(serve, "run", "hotkeys", name, "--wait", "--format", "table"))

    assert [k["name"] for k in keys] == ["hot"]
    assert keys[0]["freq"] > 10
    assert "counters from" in table  # the caption: how hot keys were told apart


def test_without_wait_the_task_is_printed_and_left_running(
    serve: Serve, redis_server: RedisServer
) -> None:
    name = f"nowait-{redis_server.port}"
    add(serve, name, redis_server)

    task = json.loads(ok(ks(serve, "run", "bigkeys", name, "--format", "json")))
    line = ok(ks(serve, "run", "bigkeys", name, "--format", "table"))

    assert task["status"] in ("waiting", "running", "success")
    assert task["id"]
    assert line.startswith("Started big-key analysis ")


def test_a_task_that_fails_makes_wait_exit_non_zero_with_its_reason(
    serve: Serve, tmp_path: Path
) -> None:
    server = start_server(tmp_path / "doomed")
    with server.client() as r:
        r.execute_command("DEBUG", "POPULATE", "300000")  # a scan of many seconds
    name = f"doomed-{server.port}"
    instance_id = add(serve, name, server)
    waiting = subprocess.Popen(
        [KEYSCOPE, "run", "bigkeys", name, "--wait", "--timeout", "120"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment(serve),
    )  # fmt: skip
    try:
        with httpx.Client(base_url=serve.url, timeout=30) as http:
            tasks = f"/instances/{instance_id}/bigkey-tasks"
            api = SignedClient(http)
            deadline = time.monotonic() + 60
            while not [t for t in api.get(tasks).json()["records"] if t["status"] == "running"]:
                assert time.monotonic() < deadline, "the analysis never started"
                time.sleep(0.05)
    finally:
        server.stop()  # mid-scan: the task fails
    _, stderr = waiting.communicate(timeout=150)

    line = one_line_error(subprocess.CompletedProcess(waiting.args, waiting.returncode, "", stderr))
    assert line.startswith("keyscope: big-key analysis ")
    assert " failed: " in line


def test_wait_gives_up_at_its_deadline_with_the_task_still_going(
    serve: Serve, tmp_path: Path
) -> None:
    server = start_server(tmp_path / "slow")
    try:
        with server.client() as r:
            r.execute_command("DEBUG", "POPULATE", "300000")  # a scan of many seconds
        name = f"slow-{server.port}"
        add(serve, name, server)

        line = one_line_error(ks(serve, "run", "bigkeys", name, "--wait", "--timeout", "0.5"))
    finally:
        server.stop()

    assert line.startswith("keyscope: big-key analysis ")
    assert line.endswith(" after 0.5 s")
    assert " is still waiting " in line or " is still running " in line


def test_two_instances_of_one_name_are_told_apart_by_id(
    serve: Serve, redis_server: RedisServer
) -> None:
    name = f"twin-{redis_server.port}"
    first = add(serve, name, redis_server)
    second = add(serve, name, redis_server)

    line = one_line_error(ks(serve, "instances", "show", name))
    shown = json.loads(ok(ks(serve, "instances", "show", second, "--format", "json")))

    assert f"2 instances are named {name!r}" in line
    assert first in line
    assert second in line
    assert shown["instance_id"] == second


def test_the_password_goes_from_stdin_to_keyscope_and_is_never_printed(
    serve: Serve, tmp_path: Path
) -> None:
    secret = "s3cret-pw-for-the-client-test"
    server = start_server(tmp_path / "auth", password=secret)
    try:
        name = f"auth-{server.port}"
        out = ok(ks(serve, "instances", "add", name, "--address", server.address,
                    "--password-stdin", "--format", "table", stdin=secret + "\n"))  # fmt: skip
        shown = ok(ks(serve, "instances", "show", name, "--format", "json"))
        table = ok(ks(serve, "instances", "show", name, "--format", "table"))
        wrong = ks(serve, "instances", "add", name, "--address", server.address,
                   "--password-stdin", stdin="not-it\n")  # fmt: skip
    finally:
        server.stop()

    assert out.startswith(f"Registered {name} as ")
    assert json.loads(shown)["has_password"] is True
    line = one_line_error(wrong)
    assert "DCS." in line
    for text in (out, shown, table, wrong.stdout, wrong.stderr):
        assert secret not in text
        assert "not-it" not in text


def test_a_wrong_secret_key_is_one_line_with_the_dcs_error(serve: Serve, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.json"
    entry = {"access_key": AK, "secret_key": "not-the-secret-key-0123456789", "projects": [PROJECT]}
    wrong.write_text(json.dumps({"credentials": [entry]}))

    line = one_line_error(ks(serve, "instances", "list", "--credentials", str(wrong)))

    assert "refused the credentials" in line
    assert "DCS." in line
    assert "not-the-secret-key" not in line


def test_an_endpoint_nobody_listens_on_is_one_line(serve: Serve) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"

    line = one_line_error(ks(serve, "instances", "list", env={"KEYSCOPE_ENDPOINT": nobody}))

    assert f"cannot reach keyscope at {nobody}" in line


def test_the_credentials_default_to_the_data_dir_of_the_environment(serve: Serve) -> None:
    env = {"KEYSCOPE_CREDENTIALS": "", "KEYSCOPE_DATA_DIR": str(credentials_of(serve).parent)}

    listed = ks(serve, "instances", "list", "--format", "json", env=env)
    missing = ks(serve, "instances", "list", env={"KEYSCOPE_CREDENTIALS": "/nonexistent/c.json"})

    assert isinstance(json.loads(ok(listed)), list)
    assert "no credentials file at /nonexistent/c.json" in one_line_error(missing, 2)


def test_the_client_commands_load_neither_the_service_nor_pydantic_nor_redis_py(
    serve: Serve, redis_server: RedisServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in environment(serve).items():
        monkeypatch.setenv(name, value)
    name = f"light-{redis_server.port}"
    _, on_add = run_and_list_modules(
        tmp_path, "instances", "add", name, "--address", redis_server.address,
        "--address", redis_server.address,
    )  # fmt: skip

    listed, on_list = run_and_list_modules(tmp_path, "instances", "list", "--format", "json")
    keys, on_run = run_and_list_modules(
        tmp_path, "run", "bigkeys", name, "--wait", "--format", "json"
    )

    assert name in [i["name"] for i in json.loads(listed)]
    assert json.loads(keys) == []
    modules = on_add | on_list | on_run
    service = [p for p in HEAVY if p != "keyscope.api"]  # its signer is the client's too
    assert loaded(modules, *service, "rich", "keyscope.rdb") == []
    assert sorted(m for m in modules if m.startswith("keyscope.api")) == [
        "keyscope.api",
        "keyscope.api.signing",
    ]


def test_a_first_start_says_what_it_set_up_and_the_client_finds_its_credentials(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    data = tmp_path / "fresh"
    with keyscope_serve(data) as fresh:
        env = {"KEYSCOPE_CREDENTIALS": "", "KEYSCOPE_DATA_DIR": str(data)}
        add_first = ("instances", "add", "first", "--address", redis_server.address)
        out = ok(ks(fresh, *add_first, "--format", "table", env=env))
        listed = json.loads(ok(ks(fresh, "instances", "list", "--format", "json", env=env)))
    printed = fresh.output.read_text()

    assert f"Created {data.resolve()} for the database, keys and backups" in printed
    assert "Created a credential for this keyscope" in printed
    assert f"Console: {fresh.url}/console  API docs: {fresh.url}/docs" in printed
    assert out.startswith("Registered first as ")
    assert [i["name"] for i in listed] == ["first"]


def test_tls_options_register_a_tls_server_with_client_certificates(
    serve: Serve, tmp_path: Path
) -> None:
    certs = make_certs(tmp_path / "certs")
    server = start_tls_server(tmp_path / "tls", certs)
    try:
        with server.client() as r:
            r.set("big:tls", "x" * 20_000)
        name = f"tls-{server.port}"
        tls = ["--tls", "--tls-ca", str(certs.ca)]
        client_cert = ["--tls-cert", str(certs.client_cert), "--tls-key", str(certs.client_key)]
        without_cert = ks(serve, "instances", "add", name, "--address", server.address, *tls)
        instance_id = add(serve, name, server, *tls, *client_cert)
        shown = json.loads(ok(ks(serve, "instances", "show", instance_id, "--format", "json")))
        keys = json.loads(
            ok(ks(serve, "run", "bigkeys", instance_id, "--wait", "--format", "json"))
        )
    finally:
        server.stop()

    assert "TLS: the server requires a client certificate" in one_line_error(without_cert)
    assert shown["tls"] == {"server_name": None, "verify": True, "has_ca_cert": True,
                            "has_client_cert": True, "has_client_key": True}  # fmt: skip
    assert [k["name"] for k in keys] == ["big:tls"]
    assert "PRIVATE KEY" not in json.dumps(shown)


def test_a_cluster_is_registered_by_one_node_and_offline_asks_which_master(
    serve: Serve, redis_cluster: Cluster
) -> None:
    with redis_cluster.client() as c:
        c.flushall()
        for i in range(3):
            c.set(f"{{slot{i}}}:big", "x" * 20_000)
    name = f"cluster-{redis_cluster.masters[0].port}"
    instance_id = add(serve, name, redis_cluster.masters[0], "--mode", "cluster")

    keys = json.loads(ok(ks(serve, "run", "bigkeys", name, "--wait", "--format", "json")))
    line = one_line_error(ks(serve, "run", "offline", instance_id))

    assert sorted(k["name"] for k in keys) == [f"{{slot{i}}}:big" for i in range(3)]
    assert {k["shard"] for k in keys} <= set(redis_cluster.addresses)
    assert f"the instance has {len(redis_cluster.masters)} masters; pick one with --node" in line
    for address in redis_cluster.addresses:
        assert address in line
