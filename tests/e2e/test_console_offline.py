"""An offline (RDB) analysis from the console: a fresh backup of a real Redis, its charts, and
downloads that hold what the API answers."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import redis

from tests.utils.browser import artifact, launch, sign_in_and_register
from tests.utils.dcs import AK, SK, SignedClient
from tests.utils.servers import RedisServer
from tests.utils.service import running_app

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

CHARTS = ("chart-type-memory", "chart-type-count", "chart-size-histogram", "chart-ttl",
          "chart-prefix-treemap")  # fmt: skip


@pytest.fixture
def console(tmp_path: Path, redis_server: RedisServer) -> Iterator[tuple[str, SignedClient]]:
    client = redis.Redis(host=redis_server.host, port=redis_server.port)
    client.config_set("repl-diskless-sync-delay", "0")
    with client.pipeline(transaction=False) as pipe:
        for i in range(3000):
            prefix = ("user", "session", "order:eu", "cache:page")[i % 4]
            pipe.set(f"{prefix}:{i}", b"v" * (i % 700), ex=(3600 * (i % 3)) or None)
        pipe.hset("profile:all", mapping={f"f{i}": i for i in range(800)})
        pipe.rpush("queue:jobs", *range(2000))
        pipe.zadd("board:top", {f"m{i}": i for i in range(500)})
        pipe.execute()
    client.close()
    with running_app(tmp_path) as (_app, signed):
        yield str(signed.http.base_url).rstrip("/"), signed


def _download(page: Page, testid: str, target: Path) -> str:
    with page.expect_download() as info:
        page.click(f"[data-testid={testid}]")
    info.value.save_as(target)
    return target.read_text(encoding="utf-8")


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_console_runs_an_offline_analysis_and_draws_its_charts(
    console: tuple[str, SignedClient], redis_server: RedisServer, tmp_path: Path
) -> None:
    base, signed = console
    with launch() as browser:
        context = browser.new_context(
            viewport={"width": 1360, "height": 1000}, accept_downloads=True
        )
        page = context.new_page()
        sign_in_and_register(page, base, AK, SK, redis_server.address)
        page.click("[data-testid=tab-offline]")
        page.wait_for_selector("[data-testid=offline-node] option", state="attached")
        page.click("[data-testid=run-offline]")
        page.wait_for_selector("[data-testid=history-row] .status-success", timeout=120_000)
        page.click("[data-testid=result-link]")
        for chart in CHARTS:
            page.wait_for_selector(f"[data-testid={chart}][data-rendered=true] canvas")
        total = page.inner_text("[data-testid=total-keys]")
        prefixes = page.inner_text("[data-testid=prefixes-table]")
        page.screenshot(path=str(artifact("console-offline.png")), full_page=True)
        report_json = _download(page, "download-json", tmp_path / "offline.json")
        keys_csv = _download(page, "download-csv", tmp_path / "offline-keys.csv")
        prefixes_csv = _download(page, "prefixes-download-csv", tmp_path / "prefixes.csv")
        types_csv = _download(page, "types-download-csv", tmp_path / "types.csv")
        context.close()

    assert total == "3,003"
    for prefix in ("user", "session", "order", "cache"):
        assert prefix in prefixes
    instance_id = signed.request("GET", "/instances").json()["instances"][0]["instance_id"]
    listing = signed.request("GET", f"/instances/{instance_id}/offline/key-analysis").json()
    task_id = listing["records"][0]["id"]
    report = signed.request("GET", f"/instances/{instance_id}/offline/key-analysis/{task_id}")
    api = report.json()
    assert json.loads(report_json) == api
    key_fields = ["key", "key_base64", "db", "type", "bytes", "num_of_elem"]
    assert _csv(keys_csv) == [
        {f: str(k.get(f, "")) for f in key_fields} for k in api["largest_keys"]
    ]
    prefix_fields = ["key_prefix", "key_prefix_base64", "type", "bytes", "num"]
    assert _csv(prefixes_csv) == [
        {f: str(p.get(f, "")) for f in prefix_fields} for p in api["largest_key_prefixes"]
    ]
    num = {t["type"]: t["num"] for t in api["type_num"]}
    assert _csv(types_csv) == [
        {"type": t["type"], "bytes": str(t["bytes"]), "num": str(num[t["type"]])}
        for t in api["type_bytes"]
    ]


def test_console_picks_a_stored_backup_showing_what_it_holds(
    console: tuple[str, SignedClient], redis_server: RedisServer
) -> None:
    base, signed = console
    with launch() as browser:
        page = browser.new_page(viewport={"width": 1360, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{base}/console")
        nav_before_sign_in = page.locator("#session-nav").is_visible()
        sign_in_and_register(page, base, AK, SK, redis_server.address)
        page.click("[data-testid=tab-offline]")
        page.wait_for_selector("[data-testid=offline-node] option", state="attached")
        empty = page.inner_text("[data-testid=backups-table] tbody")
        page.click("[data-testid=run-offline]")  # no backup yet: the analysis takes one
        page.wait_for_selector("[data-testid=history-row] .status-success", timeout=120_000)
        page.wait_for_selector("[data-testid=backup-row]")  # the one it took, listed at once
        backup_row = page.inner_text("[data-testid=backup-row]")
        options = page.locator("[data-testid=offline-backup] option").all_inner_texts()
        stored = page.locator("[data-testid=offline-backup] option").nth(1).get_attribute("value")
        page.select_option("[data-testid=offline-backup]", stored)
        page.click("[data-testid=run-offline]")
        done = page.locator("[data-testid=history-row] .status-success")
        done.nth(1).wait_for(timeout=120_000)  # the second one, on the stored backup

    assert errors == []
    assert not nav_before_sign_in  # no "Sign out" or empty project menu before sign-in
    assert "No backup of this node yet" in empty
    instance_id = signed.request("GET", "/instances").json()["instances"][0]["instance_id"]
    (backup,) = signed.request("GET", f"/instances/{instance_id}/backups").json()[
        "backup_record_response"
    ]
    assert stored == backup["backup_id"]
    assert redis_server.address in backup_row and "succeed" in backup_row
    assert backup["backup_name"] in backup_row
    assert options[0] == "take a new backup now" and "succeed" in options[1]
    listing = signed.request("GET", f"/instances/{instance_id}/offline/key-analysis").json()
    details = [
        signed.request("GET", f"/instances/{instance_id}/offline/key-analysis/{r['id']}").json()
        for r in listing["records"]
    ]
    assert sorted(d["analysis_type"] for d in details) == ["new_backup", "old_backup"]
    assert {d["backup_id"] for d in details} == {backup["backup_id"]}
