"""The web console in headless Chromium against a running keyscope with a real Redis behind it.

Sign in with AK + SK, register the Redis, run a big-key analysis, see its table and charts,
download the CSV and find in it exactly the keys the API returns as JSON.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.utils.browser import artifact, launch, sign_in_and_register
from tests.utils.dcs import AK, SK, SignedClient
from tests.utils.servers import RedisServer
from tests.utils.service import running_app

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

ODD_NAME = 'odd,"name"<b>x</b>'
"""A big key whose name needs CSV quoting and must show as text, never as markup."""


def _seed(server: RedisServer) -> None:
    client = redis.Redis(host=server.host, port=server.port)
    with client.pipeline(transaction=False) as pipe:
        pipe.set("blob:big", b"x" * 20_000)
        pipe.set(ODD_NAME, b"y" * 12_000)
        pipe.hset("user:big", mapping={f"f{i}": i for i in range(6_000)})
        pipe.rpush("queue:jobs", *range(7_000))
        pipe.sadd("set:big", *range(5_500))
        for i in range(200):
            pipe.set(f"small:{i}", i)
        pipe.execute()
    client.close()


@pytest.fixture
def console(tmp_path: Path, redis_server: RedisServer) -> Iterator[tuple[str, SignedClient]]:
    _seed(redis_server)
    with running_app(tmp_path) as (_app, signed):
        yield str(signed.http.base_url).rstrip("/"), signed


def test_console_runs_a_bigkey_analysis_and_its_csv_matches_the_api(
    console: tuple[str, SignedClient], redis_server: RedisServer, tmp_path: Path
) -> None:
    base, signed = console
    with launch() as browser:
        context = browser.new_context(
            viewport={"width": 1360, "height": 1000}, accept_downloads=True
        )
        page = context.new_page()
        urls: list[str] = []
        page.on("request", lambda request: urls.append(request.url))
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{base}/console")

        page.fill("[data-testid=access-key]", AK)
        page.fill("[data-testid=secret-key]", SK)
        page.click("[data-testid=sign-in]")
        page.wait_for_selector("[data-testid=register-instance]")

        page.fill("[data-testid=instance-name]", "browser-redis")
        page.fill("[data-testid=instance-addresses]", redis_server.address)
        page.click("[data-testid=register-instance]")
        page.wait_for_selector("[data-testid=nodes-table] tbody tr")
        assert redis_server.address in page.inner_text("[data-testid=nodes-table]")

        page.click("[data-testid=run-bigkey]")
        page.wait_for_selector("[data-testid=history-row] .status-success", timeout=120_000)
        page.click("[data-testid=result-link]")
        page.wait_for_selector("[data-testid=keys-table] tbody tr")
        page.wait_for_selector("[data-testid=chart-type-count][data-rendered=true]")
        page.wait_for_selector("[data-testid=chart-size-collections][data-rendered=true]")
        assert page.locator("[data-testid=chart-type-count] canvas").count() == 1

        table = page.inner_text("[data-testid=keys-table]")
        for name in ("blob:big", "user:big", "queue:jobs", "set:big", ODD_NAME):
            assert name in table
        assert page.locator("[data-testid=keys-table] b").count() == 0  # the name stayed text

        rows = page.locator("[data-testid=keys-table] tbody tr")
        page.click("[data-testid=keys-table] th[data-key=size]")  # by size, largest first
        assert rows.first.inner_text().startswith("blob:big")  # 20,000 bytes
        page.click("[data-testid=keys-table] th[data-key=size]")  # again: smallest first
        assert rows.first.inner_text().startswith("set:big")  # 5,500 members
        page.screenshot(path=str(artifact("console-bigkeys.png")), full_page=True)

        with page.expect_download() as info:
            page.click("[data-testid=download-csv]")
        downloaded = tmp_path / "bigkeys.csv"
        info.value.save_as(downloaded)

        stored = page.evaluate("JSON.stringify(sessionStorage) + JSON.stringify(localStorage)")
        cookies = context.cookies()
        context.close()

    assert errors == []  # no script error, no blocked resource (the page's CSP is strict)
    assert SK not in stored and not cookies
    assert not any(SK in url for url in urls)

    instance_id = signed.request("GET", "/instances").json()["instances"][0]["instance_id"]
    listing = signed.request("GET", f"/instances/{instance_id}/bigkey-tasks").json()
    task_id = listing["records"][0]["id"]
    api_keys = signed.request("GET", f"/instances/{instance_id}/bigkey-task/{task_id}").json()[
        "keys"
    ]
    assert all(isinstance(k.get("memory_bytes"), int) for k in api_keys)  # MEMORY USAGE
    rows = list(csv.DictReader(io.StringIO(downloaded.read_text(encoding="utf-8"), newline="")))
    expected = [
        {
            f: "" if k.get(f) is None else str(k[f])
            for f in ("name", "name_base64", "type", "shard", "db", "size", "unit", "memory_bytes")
        }
        for k in api_keys
    ]
    assert sorted(rows, key=json.dumps) == sorted(expected, key=json.dumps)
    assert {r["name"] for r in rows} >= {"blob:big", "user:big", "queue:jobs", ODD_NAME}


def test_console_refuses_a_wrong_secret_key(console: tuple[str, SignedClient]) -> None:
    base, _signed = console
    with launch() as browser:
        page = browser.new_page()
        page.goto(f"{base}/console")
        page.fill("[data-testid=access-key]", AK)
        page.fill("[data-testid=secret-key]", "not-the-secret-key-at-all")
        page.click("[data-testid=sign-in]")
        alert = page.wait_for_selector("[role=alert]:not(:empty)")
        assert "wrong access key or secret key" in alert.inner_text()
        assert page.locator("[data-testid=register-instance]").count() == 0


def test_console_saves_a_schedule_and_shows_every_analysis_kind(
    console: tuple[str, SignedClient], redis_server: RedisServer
) -> None:
    base, signed = console
    with launch() as browser:
        page = browser.new_page(viewport={"width": 1360, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        sign_in_and_register(page, base, AK, SK, redis_server.address)
        page.uncheck("[data-testid=schedule-enabled]")
        page.check("[data-testid=schedule-enabled]")
        page.fill("[data-testid=schedule-times]", "21:00, 09:30")
        page.click("[data-testid=save-schedule]")
        page.wait_for_selector("text=Saved")
        for kind in ("hotkey", "offline", "expire"):
            page.click(f"[data-testid=tab-{kind}]")
            page.wait_for_selector(f"[data-testid=run-{kind}]")
            page.wait_for_selector("text=analyses so far")
        page.click("[data-testid=run-expire]")
        page.wait_for_selector("[data-testid=history-row] .status-success", timeout=120_000)
        expire_rows = page.locator("[data-testid=history-row]").count()

    assert errors == []
    assert expire_rows == 1
    instance_id = signed.request("GET", "/instances").json()["instances"][0]["instance_id"]
    config = signed.request("GET", f"/instances/{instance_id}/bigkey/autoscan").json()
    assert config["enable_auto_scan"] is True
    assert config["schedule_at"] == ["21:00", "09:30"]
