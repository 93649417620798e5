"""Hot keys and expired-key scans in the console, in headless Chromium against a real Redis.

As for big keys: run the analysis from the page, see its table and charts, download the CSV
(and the JSON) and find in them exactly what the API answers. Screenshots in test-artifacts/.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.utils.browser import artifact, launch, sign_in_and_register
from tests.utils.dcs import AK, SK, SignedClient
from tests.utils.hotkeys_engine import tracking_active, tracking_left, wait_until
from tests.utils.servers import RedisServer
from tests.utils.service import running_app
from tests.utils.traffic import plant

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

ODD_NAME = 'hot,"odd"<i>x</i>'
"""A hot key whose name needs CSV quoting and must show as text, never as markup."""


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[str, SignedClient]]:
    with running_app(tmp_path) as (_app, signed):
        yield str(signed.http.base_url).rstrip("/"), signed


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _as_csv_rows(records: list[dict[str, Any]], fields: list[str]) -> list[dict[str, str]]:
    return [{f: "" if r.get(f) is None else str(r[f]) for f in fields} for r in records]


def _download(page: Page, testid: str, target: Path) -> str:
    with page.expect_download() as info:
        page.click(f"[data-testid={testid}]")
    info.value.save_as(target)
    return target.read_text(encoding="utf-8")


def _watch_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return errors


def _seed_hot(server: RedisServer) -> None:
    with server.client() as c:
        c.set("hot:string", "x" * 123)
        c.set(ODD_NAME, "y" * 40)
        c.hset("hot:hash", mapping={f"f{i}": i for i in range(18)})
        c.rpush("warm:list", *range(7))
        c.sadd("warm:set", *range(9))
        for i in range(30):
            c.set(f"cold:{i}", "v")
        pipe = c.pipeline(transaction=False)
        for _ in range(10_000):  # counters far above the floor (10) and the warm keys'
            pipe.get("hot:string")
            pipe.get(ODD_NAME)
            pipe.hget("hot:hash", "f1")
        for _ in range(600):  # above the floor whatever LFULogIncr draws
            pipe.lindex("warm:list", 0)
            pipe.sismember("warm:set", 1)
        pipe.execute()


def test_console_runs_a_hotkey_analysis_and_its_downloads_match_the_api(
    service: tuple[str, SignedClient], redis_lfu_server: RedisServer, tmp_path: Path
) -> None:
    base, signed = service
    _seed_hot(redis_lfu_server)
    with launch() as browser:
        context = browser.new_context(
            viewport={"width": 1360, "height": 1000}, accept_downloads=True
        )
        page = context.new_page()
        errors = _watch_errors(page)
        sign_in_and_register(page, base, AK, SK, redis_lfu_server.address)
        assert page.inner_text("[data-testid=shards-summary]") == "1 shard, 1 node"
        assert redis_lfu_server.address in page.inner_text("[data-testid=shards-table]")

        page.click("[data-testid=tab-hotkey]")
        page.click("[data-testid=run-hotkey]")
        page.wait_for_selector("[data-testid=history-row] .status-success", timeout=120_000)
        history_csv = _download(page, "history-download-csv", tmp_path / "history.csv")
        page.click("[data-testid=result-link]")
        page.wait_for_selector("[data-testid=keys-table] tbody tr")
        for chart in ("chart-type-count", "chart-type-size", "chart-freq"):
            page.wait_for_selector(f"[data-testid={chart}][data-rendered=true] canvas")

        table = page.locator("[data-testid=keys-table]")
        rows = table.locator("tbody tr")
        for name in ("hot:string", "hot:hash", "warm:list", "warm:set", ODD_NAME):
            assert name in table.inner_text()
        assert "cold:" not in table.inner_text()  # written once: never hot
        assert table.locator("th[data-key=node]").count() == 1
        assert redis_lfu_server.address in rows.first.inner_text()
        assert "counters from 10 (~100 accesses" in page.inner_text("[data-testid=hot-floor]")
        assert table.locator("i").count() == 0  # the odd name stayed text
        page.click("[data-testid=keys-table] th[data-key=freq]")  # hottest first
        assert rows.first.inner_text().split("\t")[0] in ("hot:string", "hot:hash", ODD_NAME)
        page.select_option("[data-testid=type-filter]", "hash")
        assert rows.count() == 1 and rows.first.inner_text().startswith("hot:hash")
        page.select_option("[data-testid=type-filter]", "")
        shown = rows.count()
        page.screenshot(path=str(artifact("console-hotkeys.png")), full_page=True)

        keys_csv = _download(page, "download-csv", tmp_path / "hotkeys.csv")
        keys_json = _download(page, "download-json", tmp_path / "hotkeys.json")
        context.close()

    assert errors == []
    instance_id = signed.request("GET", "/instances").json()["instances"][0]["instance_id"]
    listing = signed.request("GET", f"/instances/{instance_id}/hotkey-tasks").json()
    task_id = listing["records"][0]["id"]
    detail = signed.request("GET", f"/instances/{instance_id}/hotkey-task/{task_id}").json()
    fields = ["name", "name_base64", "type", "shard", "db", "size", "unit", "freq", "node"]
    got = _rows(keys_csv)
    assert list(got[0]) == fields
    assert sorted(got, key=json.dumps) == sorted(
        _as_csv_rows(detail["keys"], fields), key=json.dumps
    )
    assert shown == len(detail["keys"]) >= 5
    assert json.loads(keys_json) == detail
    history_rows = _rows(history_csv)
    assert history_rows == _as_csv_rows(listing["records"], list(history_rows[0]))
    assert set(history_rows[0]) >= {"id", "status", "scan_type", "created_at"}


def test_console_shows_the_hotkeys_shares_where_the_server_measured_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hotkeys_lfu_server: RedisServer
) -> None:
    monkeypatch.setenv("KEYSCOPE_HOTKEYS_WINDOW_S", "4")
    redis = hotkeys_lfu_server.client()
    with running_app(tmp_path) as (_app, signed), launch() as browser:
        base = str(signed.http.base_url).rstrip("/")
        context = browser.new_context(
            viewport={"width": 1360, "height": 900}, accept_downloads=True
        )
        page = context.new_page()
        errors = _watch_errors(page)
        sign_in_and_register(page, base, AK, SK, hotkeys_lfu_server.address)
        page.click("[data-testid=tab-hotkey]")
        page.click("[data-testid=run-hotkey]")
        wait_until(lambda: tracking_active(redis), "tracking")
        planted = plant(lambda _: redis, lambda _: redis)
        page.wait_for_selector("[data-testid=history-row] .status-success", timeout=120_000)
        page.click("[data-testid=result-link]")
        page.wait_for_selector("[data-testid=keys-table] tbody tr")
        table = page.locator("[data-testid=keys-table]")
        headers = [h.get_attribute("data-key") for h in table.locator("th").all()]
        cells = [r.inner_text().split("\t") for r in table.locator("tbody tr").all()]
        floor = page.inner_text("[data-testid=hot-floor]")
        keys_csv = _download(page, "download-csv", tmp_path / "hot.csv")
        page.screenshot(path=str(artifact("console-hotkeys-shares.png")), full_page=True)
        context.close()

    assert errors == []
    assert headers[-4:] == ["freq", "node", "net_share", "cpu_share"]
    assert [c[0] for c in cells] == planted
    assert all(c[-2].endswith("%") and c[-1].endswith("%") for c in cells)
    assert "HOTKEYS 4 s on" in floor and "counters from 10" in floor
    rows = _rows(keys_csv)
    assert [r["name"] for r in rows] == planted
    assert all(float(r["net_share"]) >= 0.01 and int(r["freq"]) >= 10 for r in rows)
    assert tracking_left(redis) is None


def test_console_runs_an_expired_key_scan_and_its_downloads_match_the_api(
    service: tuple[str, SignedClient], redis_server: RedisServer, tmp_path: Path
) -> None:
    base, signed = service
    with redis_server.client() as c:
        c.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")  # expired keys stay until touched
        pipe = c.pipeline(transaction=False)
        for i in range(150):
            pipe.set(f"gone:{i}", "v", px=20)
        for i in range(60):
            pipe.set(f"kept:{i}", "v")
        pipe.execute()
    time.sleep(0.1)
    with launch() as browser:
        context = browser.new_context(
            viewport={"width": 1360, "height": 1000}, accept_downloads=True
        )
        page = context.new_page()
        errors = _watch_errors(page)
        sign_in_and_register(page, base, AK, SK, redis_server.address)
        page.click("[data-testid=tab-expire]")
        page.click("[data-testid=run-expire]")
        page.wait_for_selector("[data-testid=history-row] .status-success", timeout=120_000)
        history_csv = _download(page, "history-download-csv", tmp_path / "expire-history.csv")
        history_json = _download(page, "history-download-json", tmp_path / "expire-history.json")

        page.click("[data-testid=result-link]")
        page.wait_for_selector("[data-testid=expire-nodes-table] tbody tr")
        reclaimed = page.inner_text("[data-testid=result-num]")
        scanned = page.inner_text("[data-testid=result-scanned]")
        page.screenshot(path=str(artifact("console-expire.png")), full_page=True)
        scan_csv = _download(page, "download-csv", tmp_path / "expire.csv")
        scan_json = _download(page, "download-json", tmp_path / "expire.json")
        context.close()

    assert errors == []
    instance_id = signed.request("GET", "/instances").json()["instances"][0]["instance_id"]
    api = signed.request("GET", f"/instances/{instance_id}/auto-expire/histories").json()
    (record,) = api["records"]
    assert record["num"] == 150 and reclaimed == "150"
    assert record["scanned_keys"] == 60 and scanned == "60"
    assert json.loads(history_json) == api
    history_rows = _rows(history_csv)
    flat = [f for f in record if not isinstance(record[f], list | dict)]  # nodes: JSON only
    assert list(history_rows[0]) == flat
    assert history_rows == _as_csv_rows(api["records"], flat)
    per_node = [
        (r["node"], int(r["expired_keys"]), int(r["scanned_keys"]), float(r["seconds"]))
        for r in _rows(scan_csv)
    ]
    assert per_node == [
        (n["node"], n["expired_keys"], n["scanned_keys"], n["seconds"]) for n in record["nodes"]
    ]
    assert per_node[0][:3] == (redis_server.address, 150, 60)
    assert json.loads(scan_json) == record
