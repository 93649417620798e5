"""Every result page of the console, drawn in headless Chromium from a real Redis: its charts
are drawn, no two labels overlap (chart labels as ECharts placed them, table and figure text
as the browser laid it out), figures and badges stay on one line, and the page logs no error.

Screenshots of each page are kept under the test's tmp dir (``<tmp>/screens``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.utils.browser import launch, sign_in_and_register
from tests.utils.dcs import AK, SK, SignedClient
from tests.utils.layout import chart_labels, text_layout
from tests.utils.servers import RedisServer
from tests.utils.service import running_app

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

# The prefix treemap as drawn: each tile's name and the names of the tiles inside it.
TREEMAP = """
() => {
  const box = document.querySelector("[data-testid=chart-prefix-treemap] .chart");
  const out = {};
  const walk = (nodes) => (nodes || []).forEach((n) => {
    out[n.name] = (n.children || []).map((c) => c.name);
    walk(n.children);
  });
  walk(echarts.getInstanceByDom(box).getOption().series[0].data);
  return out;
}
"""


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[str, SignedClient]]:
    with running_app(tmp_path) as (_app, signed):
        yield str(signed.http.base_url).rstrip("/"), signed


def _seed(server: RedisServer) -> None:
    with server.client() as c:
        c.config_set("repl-diskless-sync-delay", "0")
        c.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
        pipe = c.pipeline(transaction=False)
        for i in range(2000):
            prefix = ("user", "user:session", "order:eu", "order:us", "cache:page")[i % 5]
            pipe.set(f"{prefix}:{i}", b"v" * (i % 900), ex=(3600 * (i % 4)) or None)
        for i in range(60):
            pipe.set(f"gone:{i}", "v", px=1)
        for size in (12_000, 70_000, 300_000, 1_200_000):
            pipe.set(f"blob:{size}", b"x" * size)
        for n in (5_100, 9_000, 20_000, 70_000):
            pipe.hset(f"profile:{n}", mapping={f"f{j}": j for j in range(n)})
            pipe.rpush(f"queue:{n}", *range(n))
            pipe.sadd(f"tags:{n}", *range(n))
            pipe.zadd(f"board:{n}", {f"m{j}": j for j in range(n)})
        pipe.execute()
        pipe = c.pipeline(transaction=False)
        for _ in range(3000):  # LFU counters well above the hot-key floor
            pipe.get("user:1")
            pipe.hget("profile:5100", "f1")
            pipe.llen("queue:9000")
        pipe.execute()
    time.sleep(0.05)  # the 1 ms TTLs pass: only a SCAN reclaims those keys


def _watch_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return errors


def _run(page: Page, kind: str, screens: Path, histories: dict[str, Any]) -> None:
    page.click(f"[data-testid=tab-{kind}]")
    page.click(f"[data-testid=run-{kind}]")
    page.wait_for_selector("[data-testid=history-row] .status-success", timeout=120_000)
    page.screenshot(path=str(screens / f"{kind}-history.png"), full_page=True)
    histories[kind] = text_layout(page, "#app")  # the instance and its history
    page.click("[data-testid=result-link]")
    page.wait_for_selector("[data-testid=result] h1")


def _check_page(page: Page, name: str, charts: tuple[str, ...], screens: Path) -> dict[str, Any]:
    for chart in charts:
        page.wait_for_selector(f"[data-testid={chart}][data-rendered=true] canvas")
    page.mouse.move(1, 1)  # no tooltip over the labels
    page.screenshot(path=str(screens / f"{name}.png"), full_page=True)
    drawn = chart_labels(page, "[data-testid=result]")
    text = text_layout(page, "[data-testid=result]")
    return {"charts": drawn, "text": text}


def test_every_result_page_draws_its_charts_without_overlapping_text(
    service: tuple[str, SignedClient], redis_lfu_server: RedisServer, tmp_path: Path
) -> None:
    base, _signed = service
    _seed(redis_lfu_server)
    screens = tmp_path / "screens"
    screens.mkdir()
    pages: dict[str, dict[str, Any]] = {}
    histories: dict[str, Any] = {}
    with launch() as browser:
        page = browser.new_page(viewport={"width": 1360, "height": 1000})
        errors = _watch_errors(page)
        sign_in_and_register(page, base, AK, SK, redis_lfu_server.address)
        back = page.url

        # First: any other scan of this master would reclaim the expired keys on its way.
        _run(page, "expire", screens, histories)
        page.wait_for_selector("[data-testid=expire-nodes-table] tbody tr")
        pages["expire"] = _check_page(page, "expire", (), screens)
        expire_rows = page.inner_text("[data-testid=expire-nodes-table] tbody")
        reclaimed = page.inner_text("[data-testid=result-num]")
        scanned = page.inner_text("[data-testid=result-scanned]")
        duration = page.inner_text("[data-testid=result-duration]")

        page.goto(back)
        _run(page, "bigkey", screens, histories)
        pages["bigkey"] = _check_page(
            page, "bigkey",
            ("chart-type-count", "chart-type-memory", "chart-type-size",
             "chart-size-strings", "chart-size-collections"),
            screens,
        )  # fmt: skip
        memory_header = page.locator("[data-testid=keys-table] th[data-key=memory_bytes]").count()

        page.goto(back)
        _run(page, "hotkey", screens, histories)
        pages["hotkey"] = _check_page(
            page, "hotkey", ("chart-type-count", "chart-type-size", "chart-freq"), screens
        )

        page.goto(back)
        _run(page, "offline", screens, histories)
        offline_charts = ("chart-type-memory", "chart-type-count", "chart-size-histogram",
                          "chart-ttl", "chart-prefix-treemap")  # fmt: skip
        pages["offline"] = _check_page(page, "offline", offline_charts, screens)
        node_line = page.inner_text("[data-testid=result-node]")
        tree = page.evaluate(TREEMAP)

    assert errors == []  # no script error, nothing the CSP blocked
    assert memory_header == 1
    for name, found in pages.items():
        for chart in found["charts"]:
            assert chart["labels"] > 0, (name, chart)
            assert chart["overlaps"] == [], (name, chart)
            assert chart["missing"] == [], (name, chart)
        assert found["text"]["runs"] > 0, name
        assert found["text"]["overlaps"] == [], name
        assert found["text"]["broken"] == [], name
    for name, text in histories.items():
        assert text["runs"] > 0 and text["overlaps"] == [] and text["broken"] == [], (name, text)
    assert reclaimed == "60"
    assert scanned.replace(",", "").isdigit() and int(scanned.replace(",", "")) > 2000
    assert duration.endswith(" s")
    assert redis_lfu_server.address in expire_rows
    assert redis_lfu_server.address in node_line  # host and port
    # "user:session" keys are "user" keys too: drawn inside its tile, never beside it.
    assert "user:session" in tree["user"]
    assert "user:session" not in tree["string"]
    assert "user (other keys)" in tree["user"]
    kinds = ("bigkey", "expire", "hotkey", "offline")
    assert sorted(p.name for p in screens.iterdir()) == sorted(
        [f"{k}.png" for k in kinds] + [f"{k}-history.png" for k in kinds]
    )
