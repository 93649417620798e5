"""An offline (RDB) analysis from the console: a fresh backup of a real Redis, then its charts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.utils.browser import artifact, launch, sign_in_and_register
from tests.utils.dcs import AK, SK
from tests.utils.servers import RedisServer
from tests.utils.service import running_app

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

CHARTS = ("chart-type-memory", "chart-type-count", "chart-size-histogram", "chart-ttl",
          "chart-prefix-treemap")  # fmt: skip


@pytest.fixture
def console(tmp_path: Path, redis_server: RedisServer) -> Iterator[str]:
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
        yield str(signed.http.base_url).rstrip("/")


def test_console_runs_an_offline_analysis_and_draws_its_charts(
    console: str, redis_server: RedisServer
) -> None:
    with launch() as browser:
        page = browser.new_page(viewport={"width": 1360, "height": 1000})
        sign_in_and_register(page, console, AK, SK, redis_server.address)
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

    assert total == "3,003"
    for prefix in ("user", "session", "order", "cache"):
        assert prefix in prefixes
