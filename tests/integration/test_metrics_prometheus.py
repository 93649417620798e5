"""The per-instance gauges of ``/metrics`` as a real Prometheus sees them, and the alert rules
and dashboard of ``docs/monitoring/`` checked by the real ``promtool`` and ``prometheus``."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.test_api_bigkeys import register, wait_finished
from tests.utils.dcs import SignedClient
from tests.utils.servers import RedisServer, free_port
from tests.utils.service import running_app

pytestmark = pytest.mark.integration

MONITORING = Path(__file__).resolve().parents[2] / "docs" / "monitoring"
RULES = MONITORING / "keyscope-alerts.yml"
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"

needs_prometheus = pytest.mark.skipif(
    not (Path(PROMETHEUS).exists() and Path(PROMTOOL).exists()),
    reason="prometheus and promtool are not installed",
)


@needs_prometheus
def test_promtool_accepts_the_alert_rules_and_their_unit_tests() -> None:
    checked = subprocess.run([PROMTOOL, "check", "rules", str(RULES)],
                             capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 7 rules found" in checked.stdout
    tested = subprocess.run(
        [PROMTOOL, "test", "rules", "keyscope-alerts.test.yml"],
        capture_output=True, text=True, timeout=60, check=False, cwd=MONITORING,
    )  # fmt: skip
    assert tested.returncode == 0, tested.stdout + tested.stderr


@contextlib.contextmanager
def _running_prometheus(config: Path, tmp_path: Path) -> Iterator[str]:
    """A prometheus process on ``config``, ready; yields its URL."""
    url = f"http://127.0.0.1:{free_port()}"
    log = tmp_path / "prometheus.log"
    with log.open("wb") as err:
        process = subprocess.Popen(
            [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
             f"--web.listen-address={url.removeprefix('http://')}", "--log.level=warn"],
            stdout=subprocess.DEVNULL, stderr=err,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/-/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(log.read_text()[-2000:])
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def _query(url: str, expr: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{url}/api/v1/query", params={"query": expr}, timeout=10)
    body = response.json()
    assert body["status"] == "success", (expr, body)
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def _values(url: str, expr: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {
        tuple(sorted((k, v) for k, v in r["metric"].items()
                     if k not in ("__name__", "job", "instance"))): float(r["value"][1])
        for r in _query(url, expr)
    }  # fmt: skip


def _analyse(client: SignedClient, server: RedisServer) -> tuple[str, dict[str, Any]]:
    """Expire, hot-key, big-key and offline analyses of a planted keyspace, in that order
    (a SCAN reclaims expired keys, so the expire scan goes first)."""
    r = server.client()
    r.config_set("repl-diskless-sync-delay", "0")
    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    for i in range(20):
        r.set(f"gone:{i}", "v", px=1)
    r.set("big:s1", "a" * 20_000)
    r.set("big:s2", "b" * 15_000)
    r.rpush("q:big", *range(6000))
    r.mset({f"user:{i}": "u" * 30 for i in range(100)})
    r.mset({f'we"ird\\x:{i}': "w" * 5000 for i in range(3)})  # a prefix to escape in a label
    r.set("user:42", "v")
    pipe = r.pipeline(transaction=False)
    for _ in range(2000):
        pipe.get("user:42")
    pipe.execute()
    time.sleep(0.05)
    instance_id = register(client, server)
    base = f"/instances/{instance_id}"
    expire = client.post(f"{base}/scan-expire-keys-task").json()["id"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        records = client.get(f"{base}/auto-expire/histories").json()["records"]
        if any(x["id"] == expire and x["status"] == "success" for x in records):
            break
        time.sleep(0.1)
    for path in ("hotkey-task", "bigkey-task"):
        task = client.post(f"{base}/{path}").json()["id"]
        assert wait_finished(client, f"{base}/{path}/{task}")["status"] == "success"
    node = client.get(f"{base}/logical-nodes").json()["nodes"][0]["node_id"]
    offline = client.post(f"{base}/offline/key-analysis", json_body={"node_id": node}).json()
    detail = wait_finished(client, f"{base}/offline/key-analysis/{offline['task_id']}")
    assert detail["status"] == "success", detail
    return instance_id, detail


@needs_prometheus
def test_a_prometheus_scraping_keyscope_sees_the_gauges_of_the_latest_analyses(
    tmp_path: Path, redis_lfu_server: RedisServer
) -> None:
    config = tmp_path / "prometheus.yml"
    with running_app(tmp_path) as (_app, client):
        instance_id, offline = _analyse(client, redis_lfu_server)
        metrics_text = client.http.get("/metrics").text
        for key in ("big:s1", "big:s2", "q:big", "user:42", "gone:0"):
            assert key not in metrics_text  # labels carry prefixes and types, never a key

        target = str(client.http.base_url).removeprefix("http://").rstrip("/")
        config.write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            f"rule_files: [{json.dumps(str(RULES))}]\n"
            "scrape_configs:\n"
            f"  - job_name: keyscope\n    static_configs: [{{targets: [{json.dumps(target)}]}}]\n"
        )
        with _running_prometheus(config, tmp_path) as url:
            deadline = time.monotonic() + 30
            while not _query(url, "keyscope_instance_big_keys") and time.monotonic() < deadline:
                time.sleep(0.5)
            (scraped,) = httpx.get(f"{url}/api/v1/targets", timeout=10).json()["data"][
                "activeTargets"
            ]
            assert scraped["health"] == "up", scraped

            inst = ("instance_id", instance_id)
            big = _values(url, "keyscope_instance_big_keys")
            assert big[(inst, ("type", "string"))] == 2
            assert big[(inst, ("type", "list"))] == 1
            assert big[(inst, ("type", "hash"))] == 0
            assert _values(url, "keyscope_instance_hot_keys") == {(inst,): 1}
            assert _values(url, "keyscope_instance_expired_reclaimed") == {(inst,): 20}
            largest = _values(url, "keyscope_instance_largest_key_bytes")
            by_type = {k["type"]: k["bytes"] for k in reversed(offline["largest_keys"])}
            assert largest[(inst, ("type", "list"))] == by_type["list"]
            assert largest[(inst, ("type", "string"))] == by_type["string"]
            prefixes = _values(url, "keyscope_instance_prefix_bytes")
            reported = {(p["key_prefix"], p["type"]): p["bytes"]
                        for p in offline["largest_key_prefixes"]}  # fmt: skip
            assert len(prefixes) == min(20, len(reported))
            for labels, value in prefixes.items():
                fields = dict(labels)
                assert reported[(fields["prefix"], fields["type"])] == value
            # the label is the prefix in keyscope's one text form of names: its backslash
            # escaped (docs/key-names.md), so the label alone tells it from a prefix "we"ird\x"
            assert (inst, ("prefix", 'we"ird\\\\x'), ("type", "string")) in prefixes
            ages = _values(url, "keyscope_instance_last_success_age_seconds")
            assert {dict(k)["kind"] for k in ages} == {"bigkey", "hotkey", "expire", "offline"}
            assert all(0 <= v < 600 for v in ages.values())

            rules = httpx.get(f"{url}/api/v1/rules", timeout=10).json()["data"]["groups"]
            assert [r["health"] for g in rules for r in g["rules"]] == ["ok"] * 7
            firing = {a["labels"]["alertname"]
                      for a in httpx.get(f"{url}/api/v1/alerts", timeout=10).json()["data"]
                      ["alerts"]}  # fmt: skip
            assert "KeyscopeAnalysisStale" not in firing

            dashboard = json.loads((MONITORING / "keyscope-dashboard.json").read_text())
            for panel in dashboard["panels"]:
                for target_query in panel["targets"]:
                    expr = target_query["expr"].replace("$instance_id", ".*")
                    assert _query(url, expr), (panel["title"], expr)
