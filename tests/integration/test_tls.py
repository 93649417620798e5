"""TLS: every analysis and a backup over replication, on servers that listen on TLS alone.

Standalone, master/replica and a cluster (``--tls-replication yes --tls-cluster yes``),
through the engine, the API and the CLI, with client certificates and without; the
failures keyscope can explain (certificate not trusted, client certificate wanted) are one
clear line, and a plain connection to a TLS port is "not a Redis server".
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from keyscope.cli.main import app
from keyscope.domain.errors import TlsRefused
from keyscope.domain.topology import InstanceMode
from keyscope.redis.auth import Auth, Tls
from keyscope.redis.transport import NOT_REDIS
from tests.utils.analyses import ANALYSES, fill_cluster, run_analysis, write_keyspace
from tests.utils.dcs import SignedClient, is_dcs_error
from tests.utils.service import running_app
from tests.utils.tls import (
    Certs,
    TlsCluster,
    TlsRedisServer,
    make_certs,
    start_tls_cluster,
    start_tls_replica,
    start_tls_server,
)

pytestmark = pytest.mark.integration

LFU = ["--maxmemory-policy", "allkeys-lfu"]
BIG_KEYS = {"str:big", "list:big", "set:big", "zset:big", "hash:big", "stream:big"}


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def pair(
    certs: Certs, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TlsRedisServer, TlsRedisServer]]:
    """A TLS master (client certificates required) with keys of every type, and a replica."""
    folder = tmp_path_factory.mktemp("tls-pair")
    master = start_tls_server(folder / "master", certs, extra=LFU)
    with master.client() as c:
        write_keyspace(c)
    replica = start_tls_replica(master, folder / "replica")
    replica.client().config_set("maxmemory-policy", "allkeys-lfu")
    yield master, replica
    replica.stop()
    master.stop()


@pytest.fixture(scope="module")
def cluster(certs: Certs, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsCluster]:
    started = start_tls_cluster(tmp_path_factory.mktemp("tls-cluster"), certs)
    fill_cluster(started)
    yield started
    started.stop()


@pytest.fixture(scope="module")
def open_tls(certs: Certs, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsRedisServer]:
    """A TLS server that asks no client certificate (``--tls-auth-clients no``)."""
    server = start_tls_server(
        tmp_path_factory.mktemp("tls-open"), certs, auth_clients=False, extra=LFU
    )
    with server.client() as c:
        write_keyspace(c, big=False)
        c.set("blob", "x" * 20_000)
    yield server
    server.stop()


# -- the engine ------------------------------------------------------------------------------


@pytest.mark.parametrize("analysis", ANALYSES)
def test_every_analysis_runs_over_tls_on_a_master_with_its_replica(
    pair: tuple[TlsRedisServer, TlsRedisServer], certs: Certs, analysis: str, tmp_path: Path
) -> None:
    _master, replica = pair
    auth = Auth(tls=certs.tls())
    result = run_analysis(analysis, InstanceMode.HA, [replica.address], auth, tmp_path)
    if analysis == "big keys":
        assert {k.name for k in result} == BIG_KEYS  # type: ignore[attr-defined]
    assert result


@pytest.mark.parametrize("analysis", ANALYSES)
def test_every_analysis_runs_over_tls_on_a_cluster(
    cluster: TlsCluster, certs: Certs, analysis: str, tmp_path: Path
) -> None:
    auth = Auth(tls=certs.tls())
    result = run_analysis(analysis, InstanceMode.CLUSTER, cluster.addresses[:1], auth, tmp_path)
    if analysis == "big keys":
        assert {k.name for k in result} == {f"{{a}}{n}" for n in BIG_KEYS}  # type: ignore[attr-defined]
    assert result


def test_a_server_name_checks_certificates_that_name_no_address(
    certs: Certs, tmp_path: Path
) -> None:
    server = start_tls_server(tmp_path / "named", certs, named=True)
    try:
        named = Tls(ca_cert=certs.ca.read_text(), client_cert=certs.client_cert.read_text(),
                    client_key=certs.client_key.read_text(), server_name="redis.test")  # fmt: skip
        topology = run_analysis(
            "discovery", InstanceMode.SINGLE, [server.address], Auth(tls=named), tmp_path
        )
        assert topology
        with pytest.raises(TlsRefused) as caught:
            run_analysis("discovery", InstanceMode.SINGLE, [server.address],
                         Auth(tls=certs.tls()), tmp_path)  # fmt: skip
        assert caught.value.message == (
            f"{server.address}: TLS: the server's certificate was not accepted: "
            "IP address mismatch, certificate is not valid for '127.0.0.1'."
        )
    finally:
        server.stop()


def test_a_client_certificate_of_another_ca_is_refused_in_one_line(
    pair: tuple[TlsRedisServer, TlsRedisServer], certs: Certs, tmp_path: Path
) -> None:
    master, _replica = pair
    stranger = make_certs(tmp_path / "other-ca")
    foreign = Tls(ca_cert=certs.ca.read_text(), client_cert=stranger.client_cert.read_text(),
                  client_key=stranger.client_key.read_text())  # fmt: skip
    with pytest.raises(TlsRefused) as caught:
        run_analysis("discovery", InstanceMode.SINGLE, [master.address], Auth(tls=foreign),
                     tmp_path)  # fmt: skip
    assert (
        caught.value.message == f"{master.address}: TLS: the server refused the client certificate"
    )


# -- the API ---------------------------------------------------------------------------------


def tls_body(certs: Certs, *, client: bool = True, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"enabled": True, "ca_cert": certs.ca.read_text()}
    if client:
        body["client_cert"] = certs.client_cert.read_text()
        body["client_key"] = certs.client_key.read_text()
    return {**body, **extra}


def register(client: SignedClient, mode: str, addresses: list[str], tls: dict[str, Any]) -> str:
    body = {"name": "tls", "mode": mode, "addresses": addresses, "tls": tls}
    created = client.post("/instances", json_body=body)
    assert created.status_code == 200, created.text
    return str(created.json()["instance_id"])


def wait(client: SignedClient, path: str, done: tuple[str, ...] = ("success", "failed")) -> Any:
    deadline = time.monotonic() + 60
    while True:
        body = client.get(path).json()
        record = body if "status" in body else None
        if record is None:  # a list answer: the newest record
            records = body.get("records") or body.get("backup_record_response") or []
            record = records[0] if records else {"status": None}
        if record["status"] in done or time.monotonic() > deadline:
            return record
        time.sleep(0.05)


def every_api_analysis(client: SignedClient, instance: str) -> dict[str, str]:
    """Run big keys, hot keys, an expired-key scan, a backup and an offline analysis of a new
    backup through the API; the status each ended in."""
    base = f"/instances/{instance}"
    statuses: dict[str, str] = {}
    for kind in ("bigkey", "hotkey"):
        task = client.post(f"{base}/{kind}-task").json()
        statuses[kind] = wait(client, f"{base}/{kind}-task/{task['id']}")["status"]
    client.post(f"{base}/scan-expire-keys-task")
    statuses["expire"] = wait(client, f"{base}/auto-expire/histories")["status"]
    client.post(f"{base}/backups", json_body={"remark": "over tls"})
    statuses["backup"] = wait(client, f"{base}/backups", ("succeed", "failed"))["status"]
    node_id = client.get(f"{base}/logical-nodes").json()["nodes"][0]["node_id"]
    offline = client.post(f"{base}/offline/key-analysis", json_body={"node_id": node_id}).json()
    statuses["offline"] = wait(client, f"{base}/offline/key-analysis/{offline['task_id']}")[
        "status"
    ]
    return statuses


EVERY_SUCCESS = {"bigkey": "success", "hotkey": "success", "expire": "success",
                 "backup": "succeed", "offline": "success"}  # fmt: skip


def test_the_api_runs_everything_over_tls_with_client_certificates_and_never_shows_the_key(
    pair: tuple[TlsRedisServer, TlsRedisServer],
    certs: Certs,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    _master, replica = pair
    key_pem = certs.client_key.read_text()
    with running_app(tmp_path) as (_app, client):
        instance = register(client, "ha", [replica.address], tls_body(certs))

        assert every_api_analysis(client, instance) == EVERY_SUCCESS
        shown = client.get(f"/instances/{instance}")
        assert shown.json()["tls"] == {
            "server_name": None, "verify": True, "has_ca_cert": True,
            "has_client_cert": True, "has_client_key": True,
        }  # fmt: skip
        assert key_pem not in shown.text
    key_body = "".join(key_pem.splitlines()[1:-1])
    assert key_body not in caplog.text
    for path in (tmp_path / "keyscope-data").iterdir():
        if path.is_file():
            assert key_body.encode() not in path.read_bytes()  # encrypted at rest


def test_the_api_runs_everything_over_tls_on_a_cluster(
    cluster: TlsCluster, certs: Certs, tmp_path: Path
) -> None:
    with running_app(tmp_path) as (_app, client):
        instance = register(client, "cluster", cluster.addresses, tls_body(certs))
        shards = client.get(f"/instances/{instance}").json()["node_count"]
        assert shards == 6
        assert every_api_analysis(client, instance) == EVERY_SUCCESS


def test_the_api_runs_over_tls_without_client_certificates(
    open_tls: TlsRedisServer, certs: Certs, tmp_path: Path
) -> None:
    with running_app(tmp_path) as (_app, client):
        instance = register(client, "single", [open_tls.address], tls_body(certs, client=False))
        assert every_api_analysis(client, instance) == EVERY_SUCCESS
        tls = client.get(f"/instances/{instance}").json()["tls"]
        assert (tls["has_client_cert"], tls["has_client_key"]) == (False, False)


def test_the_api_names_what_is_wrong_with_tls_in_one_line(
    pair: tuple[TlsRedisServer, TlsRedisServer], certs: Certs, tmp_path: Path
) -> None:
    master, _replica = pair
    address = master.address
    with running_app(tmp_path) as (_app, client):

        def refused(tls: dict[str, Any] | None) -> Any:
            body = {"name": "x", "mode": "single", "addresses": [address], "tls": tls}
            return client.post("/instances", json_body=body)

        no_cert = refused(tls_body(certs, client=False))
        untrusted = refused({"enabled": True})  # the system CAs do not know the test CA
        plain = refused(None)
        bad_pem = refused(tls_body(certs, client_key="-----BEGIN PRIVATE KEY-----\nnope\n"))
        insecure = refused(tls_body(certs, ca_cert=None, verify=False))

    assert is_dcs_error(no_cert, 400, "DCS.4974"), no_cert.text
    assert no_cert.json()["error_msg"] == (
        f"{address}: TLS: the server requires a client certificate"
    )
    assert is_dcs_error(untrusted, 400, "DCS.4974"), untrusted.text
    assert untrusted.json()["error_msg"] == (
        f"{address}: TLS: the server's certificate was not accepted: "
        "self-signed certificate in certificate chain"
    )
    assert is_dcs_error(plain, 400, "DCS.4971")
    assert plain.json()["error_msg"] == f"{address}: {NOT_REDIS}"
    assert is_dcs_error(bad_pem, 400, "DCS.4002")
    assert bad_pem.json()["error_msg"] == (
        "TLS: the client certificate and key do not load (not PEM, or not a pair)"
    )
    assert insecure.status_code == 200, insecure.text


# -- the CLI ---------------------------------------------------------------------------------


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["analyze", *args])
    return result.exit_code, result.stdout, result.stderr


def cert_options(certs: Certs, *, client: bool = True) -> list[str]:
    options = ["--tls-ca", str(certs.ca)]
    if client:
        options += ["--tls-cert", str(certs.client_cert), "--tls-key", str(certs.client_key)]
    return options


@pytest.mark.parametrize("command", ["bigkeys", "hotkeys", "expire"])
def test_the_cli_analyses_a_tls_replica_and_cluster_with_client_certificates(
    pair: tuple[TlsRedisServer, TlsRedisServer], cluster: TlsCluster, certs: Certs, command: str
) -> None:
    _master, replica = pair
    options = [*cert_options(certs), "--format", "json"]

    code, out, err = cli(command, f"rediss://{replica.address}", *options)
    assert (code, err) == (0, "")
    cluster_code, cluster_out, cluster_err = cli(
        command, f"rediss://{cluster.addresses[0]}", "--cluster", *options
    )
    assert (cluster_code, cluster_err) == (0, "")

    if command == "bigkeys":
        assert {k["name"] for k in json.loads(out)} == BIG_KEYS
        assert {k["shard"] for k in json.loads(cluster_out)} <= set(cluster.addresses)
    elif command == "hotkeys":
        assert json.loads(out) and json.loads(cluster_out)
    else:
        assert json.loads(out)["scanned_keys"] > 0
        assert json.loads(cluster_out)["scanned_keys"] > 0


def test_the_cli_without_client_certificates_and_insecure(
    open_tls: TlsRedisServer, certs: Certs
) -> None:
    url = f"rediss://{open_tls.address}"
    code, out, err = cli("bigkeys", url, *cert_options(certs, client=False), "--format", "json")
    assert (code, err) == (0, "")
    assert [k["name"] for k in json.loads(out)] == ["blob"]
    insecure = cli("bigkeys", url, "--tls-insecure", "--format", "json")
    assert insecure[0] == 0 and json.loads(insecure[1]) == json.loads(out)
    plain_url = f"redis://{open_tls.address}"
    flag = cli("bigkeys", plain_url, "--tls", "--tls-ca", str(certs.ca), "--format", "json")
    assert flag[0] == 0 and json.loads(flag[1]) == json.loads(out)


def test_the_cli_prints_one_line_for_what_is_wrong_with_tls(
    pair: tuple[TlsRedisServer, TlsRedisServer], certs: Certs
) -> None:
    master, _replica = pair
    no_cert = cli("bigkeys", f"rediss://{master.address}", *cert_options(certs, client=False))
    plain = cli("bigkeys", f"redis://{master.address}")
    options_without_tls = cli("bigkeys", f"redis://{master.address}", "--tls-ca", str(certs.ca))
    half_pair = cli("bigkeys", f"rediss://{master.address}", "--tls-cert", str(certs.client_cert))

    assert no_cert == (
        1, "", f"keyscope: {master.address}: TLS: the server requires a client certificate\n"
    )  # fmt: skip
    assert plain == (1, "", f"keyscope: {master.address}: {NOT_REDIS}\n")
    assert options_without_tls == (
        2, "", "keyscope: the --tls-* options need TLS: a rediss:// URL or --tls\n"
    )  # fmt: skip
    assert half_pair == (2, "", "keyscope: --tls-cert and --tls-key go together\n")


# -- the engine matrix -----------------------------------------------------------------------

ENGINES = Path(__file__).resolve().parents[2].parent / "shared" / "engines"
MATRIX = ["redis-7.2.6", "redis-7.4.1", "redis-unstable-20260625", "valkey-8.0.1",
          "valkey-unstable-20250127"]  # fmt: skip
"""Every engine of ../shared/engines that the server fixture starts (all built with TLS);
redis-6.2.14 does not know the fixture's ``--enable-debug-command``."""


@pytest.mark.parametrize("engine", MATRIX)
def test_each_engine_of_the_matrix_is_analysed_and_backed_up_over_tls(
    engine: str, certs: Certs, tmp_path: Path
) -> None:
    binary = ENGINES / engine / "bin" / "redis-server"
    if not binary.is_file():
        pytest.skip(f"{engine} is not in ../shared/engines")
    server = start_tls_server(tmp_path / engine, certs, binary=str(binary))
    try:
        with server.client() as c:
            c.set("blob", "x" * 20_000)
            c.rpush("queue", *range(6000))
        code, out, err = cli("bigkeys", f"rediss://{server.address}", *cert_options(certs),
                             "--format", "json")  # fmt: skip
        size = run_analysis("backups over replication", InstanceMode.SINGLE, [server.address],
                            Auth(tls=certs.tls()), tmp_path)  # fmt: skip
    finally:
        server.stop()
    assert (code, err) == (0, "")
    assert {k["name"] for k in json.loads(out)} == {"blob", "queue"}
    assert isinstance(size, int) and size > 20_000
    assert (tmp_path / "backup.rdb").read_bytes().startswith(b"REDIS")
