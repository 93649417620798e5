"""The console's trends of one instance: charts of its analyses over time, and the diff of
two of them opened from there (real Redis, real service, headless Chromium)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.integration.test_api_bigkeys import wait_finished
from tests.utils.browser import artifact, launch, sign_in_and_register
from tests.utils.dcs import AK, SK, SignedClient
from tests.utils.servers import RedisServer
from tests.utils.service import running_app

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

CHARTS = ("chart-trend-memory", "chart-trend-keys", "chart-trend-prefixes", "chart-trend-bigkey",
          "chart-trend-expire")  # fmt: skip


@pytest.fixture
def console(tmp_path: Path, redis_server: RedisServer) -> Iterator[tuple[str, SignedClient]]:
    redis_server.client().config_set("repl-diskless-sync-delay", "0")
    with running_app(tmp_path) as (_app, signed):
        yield str(signed.http.base_url).rstrip("/"), signed


def _offline(signed: SignedClient, base: str) -> dict[str, Any]:
    node = signed.get(f"{base}/logical-nodes").json()["nodes"][0]["node_id"]
    task = signed.post(f"{base}/offline/key-analysis", json_body={"node_id": node}).json()
    return wait_finished(signed, f"{base}/offline/key-analysis/{task['task_id']}")


def _bigkeys(signed: SignedClient, base: str) -> dict[str, Any]:
    task = signed.post(f"{base}/bigkey-task").json()
    return wait_finished(signed, f"{base}/bigkey-task/{task['id']}")


def _expire(signed: SignedClient, base: str) -> None:
    task = signed.post(f"{base}/scan-expire-keys-task").json()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        records = signed.get(f"{base}/auto-expire/histories").json()["records"]
        if any(r["id"] == task["id"] and r["status"] == "success" for r in records):
            return
        time.sleep(0.1)
    raise AssertionError("the expire scan did not finish")


def _cells(page: Page, testid: str) -> list[list[str]]:
    rows = page.locator(f"[data-testid={testid}] tbody tr")
    return [rows.nth(i).locator("td").all_inner_texts() for i in range(rows.count())]


def test_the_trends_page_draws_the_history_and_opens_the_diff_of_two_analyses(
    console: tuple[str, SignedClient], redis_server: RedisServer
) -> None:
    base_url, signed = console
    r = redis_server.client()
    r.mset({f"cart:{i}": "c" * 50 for i in range(300)})
    r.mset({f"session:{i}": "s" * 50 for i in range(200)})
    r.set("big:old", "o" * 20_000)
    with launch() as browser:
        page = browser.new_page(viewport={"width": 1360, "height": 1000})
        sign_in_and_register(page, base_url, AK, SK, redis_server.address)
        instance_id = page.url.split("#/i/", 1)[1].split("/", 1)[0]
        base = f"/instances/{instance_id}"
        first = _offline(signed, base)
        _bigkeys(signed, base)
        r.mset({f"cart:{i}": "c" * 50 for i in range(300, 900)})
        r.delete(*[f"session:{i}" for i in range(200)])
        r.set("big:new", "n" * 30_000)
        second = _offline(signed, base)
        _bigkeys(signed, base)
        _expire(signed, base)
        assert first["status"] == second["status"] == "success"

        page.click("[data-testid=tab-trends]")
        for chart in CHARTS:
            page.wait_for_selector(f"[data-testid={chart}][data-rendered=true] canvas")
        page.screenshot(path=str(artifact("console-trends.png")), full_page=True)
        assert page.input_value("[data-testid=diff-offline-base]") == first["id"]
        assert page.input_value("[data-testid=diff-offline-task]") == second["id"]

        page.click("[data-testid=diff-offline-open]")
        page.wait_for_selector("[data-testid=diff-prefixes-grown-by-keys-table]")
        grown = _cells(page, "diff-prefixes-grown-by-keys-table")
        shrunk = _cells(page, "diff-prefixes-shrunk-by-keys-table")
        total = page.inner_text("[data-testid=diff-total]")
        page.screenshot(path=str(artifact("console-diff.png")), full_page=True)
        assert [(row[0], row[4], row[5]) for row in grown] == [
            ("cart", "300", "900"),
            ("big", "1", "2"),
        ]
        assert [(row[0], row[4], row[5]) for row in shrunk] == [("session", "200", "0")]
        assert total.startswith("501 → 902 keys")

        page.go_back()
        page.wait_for_selector("[data-testid=diff-bigkey-open]")
        page.click("[data-testid=diff-bigkey-open]")
        page.wait_for_selector("[data-testid=diff-keys-entered-table]")
        assert [row[0] for row in _cells(page, "diff-keys-entered-table")] == ["big:new"]
